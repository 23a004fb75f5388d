%% @doc Process: one WebSocket connection (RFC 6455, server side), run in the HTTP connection's process.
%%
%% `upgrade/3' checks the opening handshake (400 / 426), takes a WebSocket slot from gen_tcp_server (503
%% when `max_ws_connections' are open), calls the handler's `ws_init/2', answers 101 and runs the loop
%% until the connection is over; it returns with the socket closed.
%%
%% Receiving while also taking Erlang messages: AtomVM has no active-once mode and cannot change socket
%% options after accept (no inet setopts), so the socket stays passive and a small linked reader process
%% blocks in `gen_tcp:recv/2' and forwards each chunk here. It waits for an ack before the next recv,
%% so at most one chunk is ever queued: a slow handler slows the client down through TCP flow control
%% instead of filling this process's mailbox
%% (the ack goes out when a chunk is taken up, so one chunk is parsed while the next is read).
%% Every other message goes to the handler's `ws_info/2'.
%%
%% Timeouts: after `ws_idle_timeout' ms without a byte from the client a ping is sent; after another
%% `ws_idle_timeout' ms without a byte the connection is closed with 1001. After a close frame has been
%% sent, the client gets `?CLOSE_TIMEOUT' ms to answer before the TCP connection is closed (RFC 6455 7.1.1:
%% the server closes TCP first).
-module(httpd_ws_conn).

-include("httpd_head.hrl").

-export([upgrade/3]).

-define(CLOSE_TIMEOUT, 3000).
-define(LINGER_BYTES, 65536).

-record(c, {
    sock,
    reader :: pid(),
    ref :: reference(),
    mod :: module(),
    hstate,
    %% the frame parser; while waiting for a close frame after a protocol error: {broken, BytesLeft}
    parser,
    idle :: pos_integer() | infinity,
    deadline :: integer() | infinity,
    pinged = false :: boolean()
}).

%% @doc Takes over the connection of a handler that returned `{upgrade, websocket, Mod, Opts}'.
%% Returns `closed' when the connection is over (the socket is closed by then).
-spec upgrade(map(), module(), term()) -> closed.
upgrade(#{'$conn' := Conn} = Req, Mod, Opts) ->
    %% the socket, the bytes read past the request head, the server config and the server (httpd_conn's
    %% contract, httpd_head.hrl)
    Sock = Conn#conn.socket,
    case httpd_ws_frame:handshake(Req) of
        {ok, Accept, Offered} ->
            Config = Conn#conn.cfg,
            Server = case Conn#conn.server of
                S when is_pid(S) -> S;
                _ -> gen_tcp_server:server()
            end,
            case Server =:= undefined orelse
                 gen_tcp_server:claim(Server, websocket, maps:get(max_ws_connections, Config, 4)) of
                full ->
                    refuse(Sock, 503, <<"too many WebSocket connections">>);
                _ ->
                    C = #c{sock = Sock, mod = Mod, idle = maps:get(ws_idle_timeout, Config, 60000),
                           parser = httpd_ws_frame:new(#{max_message => maps:get(max_ws_message, Config, 65536)})},
                    Result = callback(Mod, ws_init, [Req#{ws_protocols => Offered}, Opts]),
                    init(Result, C, Accept, Offered, Conn#conn.buf)
            end;
        {error, Status, Why} ->
            refuse(Sock, Status, Why)
    end.

refuse(Sock, Status, Why) ->
    Text = {<<"content-type">>, <<"text/plain">>},
    Headers = case Status of
        %% RFC 6455 4.4: tell the client which version we speak
        426 -> [{<<"sec-websocket-version">>, <<"13">>}, Text];
        _ -> [Text]
    end,
    _ = tcp_transport:send(Sock, httpd_reply:response(Status, Headers, [Why, <<"\n">>], #{keepalive => false})),
    _ = tcp_transport:close(Sock),
    closed.

init({ok, HState}, C, Accept, _Offered, Buffer) ->
    start(C, HState, [], none, Accept, Buffer);
init({ok, HState, #{protocol := P}}, C, Accept, Offered, Buffer) ->
    case lists:member(P, Offered) of
        true -> start(C, HState, [], P, Accept, Buffer);
        false -> init({crash, {bad_protocol, P}}, C, Accept, Offered, Buffer)
    end;
init({ok, HState, _}, C, Accept, _Offered, Buffer) ->
    start(C, HState, [], none, Accept, Buffer);
init({reply, Frames, HState}, C, Accept, _Offered, Buffer) ->
    start(C, HState, Frames, none, Accept, Buffer);
init({error, Status, Why}, C, _Accept, _Offered, _Buffer)
  when is_integer(Status), Status >= 400, Status =< 599, is_binary(Why) ->
    refuse(C#c.sock, Status, Why);
init({crash, Reason}, #c{sock = Sock, mod = Mod}, _Accept, _Offered, _Buffer) ->
    log(Mod, ws_init, Reason),
    refuse(Sock, 500, <<"WebSocket handler failed">>);
init(Other, C, Accept, Offered, Buffer) ->
    init({crash, {bad_return, Other}}, C, Accept, Offered, Buffer).

%% Answers 101 (RFC 6455 4.2.2 step 5), sends the handler's first frames and handles the bytes that came
%% with the request head.
start(#c{sock = Sock} = C0, HState, Frames, Protocol, Accept, Buffer) ->
    Ref = make_ref(),
    Ws = self(),
    %% the reader blocks in recv on the socket (which stays owned by this process, so it closes when this
    %% process ends) and forwards one chunk at a time
    Reader = spawn_link(fun() -> reader(Sock, Ws, Ref) end),
    C = touch(C0#c{reader = Reader, ref = Ref, hstate = HState}),
    Head = [<<"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n"
              "sec-websocket-accept: ">>, Accept, <<"\r\n">>,
            case Protocol of
                none -> [];
                _ -> [<<"sec-websocket-protocol: ">>, Protocol, <<"\r\n">>]
            end,
            <<"\r\n">>],
    case tcp_transport:send(Sock, Head) of
        ok ->
            %% the request, its headers and the handshake are garbage now: a WebSocket lives long and
            %% mostly idle, so start it small (RAM is what a device has least of)
            erlang:garbage_collect(),
            case after_callback(ws_init, {reply, Frames, HState}, C) of
                {open, C1} -> data(Buffer, C1);
                Done -> Done
            end;
        {error, _} ->
            finish(C, closed)
    end.

reader(Sock, Ws, Ref) ->
    case tcp_transport:recv(Sock, 0, infinity) of
        {ok, Data} ->
            Ws ! {Ref, data, Data},
            receive
                {Ref, ack} -> reader(Sock, Ws, Ref);
                {Ref, stop} -> ok
            end;
        {error, Reason} ->
            Ws ! {Ref, closed, Reason}
    end.

%% ---------------------------------------------------------------------------------------------------------
%% The open state

loop(#c{ref = Ref, reader = Reader, mod = Mod, hstate = HState, deadline = Deadline} = C) ->
    receive
        {Ref, data, Data} ->
            %% let the reader read on: at most this chunk and the next are held
            Reader ! {Ref, ack},
            data(Data, touch(C));
        {Ref, closed, _} ->
            %% the TCP connection ended without a close frame (RFC 6455 7.1.5: code 1006)
            finish(C, closed);
        Msg ->
            next(after_callback(ws_info, callback(Mod, ws_info, [Msg, HState]), C))
    after remaining(Deadline) ->
        idle(C)
    end.

next({open, C}) -> loop(C);
next(Done) -> Done.

%% Bytes from the client: handle each event in order.
data(Data, C) ->
    case httpd_ws_frame:parse(Data, C#c.parser) of
        {ok, Events, P} ->
            events(Events, C#c{parser = P}, ok);
        {error, Events, 1009, Why} ->
            %% Too big: the frame's bounds are known, so the chunk is read again to skip it (below).
            events(Events, C, {1009, Why, Data});
        {error, Events, Code, Why} ->
            %% The events before the bad frame are still handled (Autobahn 3.2: echo, then fail).
            events(Events, C, {Code, Why})
    end.

events([Event | Rest], C, Then) ->
    case event(Event, C) of
        {open, C1} -> events(Rest, C1, Then);
        Done -> Done
    end;
events([], C, ok) ->
    loop(C);
events([], C, {Code, Why}) ->
    fail(C, Code, Why);
events([], C, {Code, Why, Data}) ->
    too_big(C, Code, Why, Data).

event({ping, Payload}, C) ->
    %% RFC 6455 5.5.2: answer with a pong carrying the same payload
    send(C, httpd_ws_frame:serialize({pong, Payload}));
event({pong, _}, C) ->
    {open, C};
event({close, Code, _Reason}, C) ->
    %% RFC 6455 5.5.1 / 7.1.2: answer the close (with its code, if any), then close TCP (the server
    %% closes first)
    _ = tcp_transport:send(C#c.sock, httpd_ws_frame:serialize(case Code of none -> close; _ -> {close, Code} end)),
    finish(C, {remote, Code});
event(Message, #c{mod = Mod, hstate = HState} = C) ->
    after_callback(ws_handle, callback(Mod, ws_handle, [Message, HState]), C).

%% A callback's outcome: `{open, C}' while the connection stays open, else the end (`closed').
after_callback(_Cb, {ok, HState}, C) ->
    {open, C#c{hstate = HState}};
after_callback(Cb, {reply, Frames, HState}, C) ->
    C1 = C#c{hstate = HState},
    List = if is_list(Frames) -> Frames; true -> [Frames] end,
    try frames(List) of
        {Out, false} ->
            send(C1, Out);
        {Out, true} ->
            case send(C1, Out) of
                {open, C2} -> wait_close(C2, closing(C2#c.parser), deadline(?CLOSE_TIMEOUT), normal);
                Done -> Done
            end
    catch
        error:badarg -> crashed(C1, Cb, {bad_frames, List})
    end;
after_callback(Cb, {stop, HState}, C) ->
    after_callback(Cb, {reply, {close, 1000, <<>>}, HState}, C);
after_callback(Cb, {crash, Reason}, C) ->
    crashed(C, Cb, Reason);
after_callback(Cb, Other, C) ->
    crashed(C, Cb, {bad_return, Other}).

%% Serializes the handler's frames and says whether they end with a close frame (RFC 6455 5.5.1: nothing
%% is sent after close).
frames([F | _]) when F =:= close; element(1, F) =:= close ->
    {[httpd_ws_frame:serialize(F)], true};
frames([F | Rest]) ->
    {Out, Closing} = frames(Rest),
    {[httpd_ws_frame:serialize(F) | Out], Closing};
frames([]) ->
    {[], false}.

send(C, Out) ->
    case tcp_transport:send(C#c.sock, Out) of
        ok -> {open, C};
        {error, _} -> finish(C, closed)
    end.

%% ---------------------------------------------------------------------------------------------------------
%% Idle ping and timeout

touch(#c{idle = Idle} = C) -> C#c{deadline = deadline(Idle), pinged = false}.

deadline(infinity) -> infinity;
deadline(Ms) -> erlang:monotonic_time(millisecond) + Ms.

remaining(infinity) -> infinity;
remaining(Deadline) -> max(0, Deadline - erlang:monotonic_time(millisecond)).

idle(#c{pinged = false, idle = Idle} = C) ->
    next(send(C#c{pinged = true, deadline = deadline(Idle)}, httpd_ws_frame:serialize(ping)));
idle(C) ->
    close(C, {close, 1001, <<"idle timeout">>}, timeout).

%% ---------------------------------------------------------------------------------------------------------
%% Closing

%% A protocol violation (RFC 6455 7.1.7): send the close code, then close TCP once the client has answered
%% or gone quiet. What follows a bad frame cannot be parsed reliably, so each later chunk is tried as the
%% start of the client's close frame with a fresh parser; other bytes are read and dropped (up to
%% ?LINGER_BYTES) rather than left unread, because closing a socket with unread bytes makes the kernel
%% send a reset that can destroy our close frame in flight. An error in the client's close frame means it
%% has closed already: there is nothing to wait for.
fail(C, Code, Why) ->
    case httpd_ws_frame:close_error(Why) of
        true ->
            _ = tcp_transport:send(C#c.sock, httpd_ws_frame:serialize({close, Code, Why})),
            finish(C, {error, Code, Why});
        false ->
            close(C#c{parser = {broken, ?LINGER_BYTES}}, {close, Code, Why}, {error, Code, Why})
    end.

%% A message over the limit (1009) breaks no framing: the chunk it arrived in is parsed again from the
%% parser before it with data payloads skipped, so the client's close frame is found wherever it lands,
%% even inside the same chunk as the rest of the oversized payload.
too_big(C, Code, Why, Data) ->
    Reason = {error, Code, Why},
    _ = tcp_transport:send(C#c.sock, httpd_ws_frame:serialize({close, Code, Why})),
    case close_seen(Data, closing(C#c.parser)) of
        Next when is_tuple(Next) -> wait_close(C, Next, deadline(?CLOSE_TIMEOUT), Reason);
        _ -> finish(C, Reason)
    end.

crashed(C, Cb, Reason) ->
    log(C#c.mod, Cb, Reason),
    close(C, {close, 1011, <<"handler error">>}, {crash, Reason}).

%% Sends our close frame and waits for the client's.
close(C, Frame, Reason) ->
    _ = tcp_transport:send(C#c.sock, httpd_ws_frame:serialize(Frame)),
    wait_close(C, closing(C#c.parser), deadline(?CLOSE_TIMEOUT), Reason).

%% After our close frame, data payloads are skipped rather than kept (a broken stream stays broken).
closing({broken, _} = Broken) -> Broken;
closing(Parser) -> httpd_ws_frame:closing(Parser).

%% We sent a close frame: read on until the client's close frame (data frames are dropped, RFC 6455
%% 1.4), the end of the TCP connection, or the timeout.
wait_close(#c{ref = Ref, reader = Reader} = C, Parser, Deadline, Reason) ->
    receive
        {Ref, data, Data} ->
            case close_seen(Data, Parser) of
                Next when is_tuple(Next) ->
                    Reader ! {Ref, ack},
                    wait_close(C, Next, Deadline, Reason);
                _ ->
                    finish(C, Reason)
            end;
        {Ref, closed, _} ->
            finish(C, Reason)
    after remaining(Deadline) ->
        finish(C, Reason)
    end.

%% What to read the next chunk with, or true / false when the wait is over: the client's close frame
%% came, or the stream is beyond repair.
close_seen(Data, {broken, Left}) ->
    Rest = Left - byte_size(Data),
    seen(httpd_ws_frame:parse(Data, httpd_ws_frame:new(#{max_message => 0})), Rest > 0 andalso {broken, Rest});
close_seen(Data, Parser) ->
    case httpd_ws_frame:parse(Data, Parser) of
        {ok, _, Next} = Result -> seen(Result, Next);
        Result -> seen(Result, false)
    end.

seen(Result, Next) ->
    lists:keymember(close, 1, element(2, Result)) orelse Next.

%% The end: close TCP, stop the reader, tell the handler.
finish(#c{sock = Sock, reader = Reader, ref = Ref, mod = Mod, hstate = HState}, Reason) ->
    _ = tcp_transport:close(Sock),
    unlink(Reader),
    Reader ! {Ref, stop},
    flush(Ref),
    case erlang:function_exported(Mod, ws_terminate, 2) andalso callback(Mod, ws_terminate, [Reason, HState]) of
        {crash, Why} -> log(Mod, ws_terminate, Why);
        _ -> ok
    end,
    closed.

flush(Ref) ->
    receive
        {Ref, _, _} -> flush(Ref)
    after 0 -> ok
    end.

%% ---------------------------------------------------------------------------------------------------------

%% A handler callback; an exception becomes `{crash, Reason}' so one bad handler only ends its own
%% connection.
callback(Mod, Fun, Args) ->
    try
        apply(Mod, Fun, Args)
    catch
        Class:Reason:Stack -> {crash, {Class, Reason, Stack}}
    end.

log(Mod, Cb, Reason) ->
    io:format("websocket handler ~p:~p failed: ~p~n", [Mod, Cb, Reason]).
