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

-export([upgrade/3]).

-define(CLOSE_TIMEOUT, 3000).
-define(LINGER_BYTES, 65536).

-record(c, {
    sock,
    reader :: pid() | undefined,
    ref :: reference(),
    mod :: module(),
    hstate,
    parser,
    idle :: pos_integer() | infinity,
    deadline :: integer() | infinity,
    pinged = false :: boolean()
}).

%% @doc Takes over the connection of a handler that returned `{upgrade, websocket, Mod, Opts}'.
%% Returns `closed' when the connection is over (the socket is closed by then).
-spec upgrade(map(), module(), term()) -> closed.
upgrade(Req, Mod, Opts) ->
    {Sock, Buffer, Config} = conn_info(Req),
    case httpd_ws_frame:handshake(Req) of
        {error, 426, Why} ->
            %% RFC 6455 4.4: tell the client which version we speak
            Hdrs = [{<<"sec-websocket-version">>, <<"13">>}, {<<"content-type">>, <<"text/plain">>}],
            refuse(Sock, httpd_reply:response(426, Hdrs, [Why, <<"\n">>], #{keepalive => false}));
        {error, Status, Why} ->
            refuse(Sock, httpd_reply:error_response(Status, Why));
        {ok, Accept, Protocols} ->
            case claim(Req, Config) of
                full ->
                    refuse(Sock, httpd_reply:error_response(503, <<"too many WebSocket connections">>));
                ok ->
                    init(Sock, Buffer, Config, Req#{ws_protocols => Protocols}, Accept, Protocols, Mod, Opts)
            end
    end.

refuse(Sock, Response) ->
    _ = gen_tcp:send(Sock, Response),
    _ = gen_tcp:close(Sock),
    closed.

%% The connection's socket, the bytes read past the request head, the server config and the server,
%% from the private part of the request (httpd_conn's contract).
conn_info(#{'$conn' := Conn}) ->
    {maps:get(socket, Conn), maps:get(buf, Conn, <<>>), maps:get(cfg, Conn, #{})}.

server(#{'$conn' := #{server := Server}}) when is_pid(Server) -> Server;
server(_Req) -> gen_tcp_server:server().

claim(Req, Config) ->
    case server(Req) of
        undefined -> ok;
        Server -> gen_tcp_server:claim(Server, websocket, maps:get(max_ws_connections, Config, 4))
    end.

init(Sock, Buffer, Config, Req, Accept, Offered, Mod, Opts) ->
    case callback(Mod, ws_init, [Req, Opts]) of
        {ok, HState} ->
            start(Sock, Buffer, Config, Mod, HState, handshake_reply(Accept, none), []);
        {ok, HState, #{protocol := P}} ->
            case lists:member(P, Offered) of
                true -> start(Sock, Buffer, Config, Mod, HState, handshake_reply(Accept, P), []);
                false -> fail_init(Sock, Mod, {bad_protocol, P})
            end;
        {ok, HState, _} ->
            start(Sock, Buffer, Config, Mod, HState, handshake_reply(Accept, none), []);
        {reply, Frames, HState} ->
            start(Sock, Buffer, Config, Mod, HState, handshake_reply(Accept, none), Frames);
        {error, Status, Why} when is_integer(Status), Status >= 400, Status =< 599, is_binary(Why) ->
            refuse(Sock, httpd_reply:error_response(Status, Why));
        {crash, Reason} ->
            fail_init(Sock, Mod, Reason);
        Other ->
            fail_init(Sock, Mod, {bad_return, Other})
    end.

fail_init(Sock, Mod, Reason) ->
    log(Mod, ws_init, Reason),
    refuse(Sock, httpd_reply:error_response(500, <<"WebSocket handler failed">>)).

%% RFC 6455 4.2.2 step 5.
handshake_reply(Accept, Protocol) ->
    [<<"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n"
       "sec-websocket-accept: ">>, Accept, <<"\r\n">>,
     case Protocol of
         none -> [];
         _ -> [<<"sec-websocket-protocol: ">>, Protocol, <<"\r\n">>]
     end,
     <<"\r\n">>].

start(Sock, Buffer, Config, Mod, HState, Head, Frames) ->
    Idle = maps:get(ws_idle_timeout, Config, 60000),
    C0 = #c{sock = Sock, ref = make_ref(), mod = Mod, hstate = HState, idle = Idle,
            parser = httpd_ws_frame:new(#{max_message => maps:get(max_ws_message, Config, 65536)})},
    C = touch(C0),
    case encode_frames(Frames) of
        {ok, Out, Closing} ->
            case gen_tcp:send(Sock, [Head | Out]) of
                ok ->
                    %% the request, its headers and the handshake are garbage now: a WebSocket lives long
                    %% and mostly idle, so start it small (RAM is what a device has least of)
                    erlang:garbage_collect(),
                    C1 = C#c{reader = start_reader(Sock, C#c.ref)},
                    case Closing of
                        true -> closing(C1, normal);
                        false -> data(Buffer, C1, false)
                    end;
                {error, _} ->
                    finish(C, closed)
            end;
        {error, Reason} ->
            _ = gen_tcp:send(Sock, Head),
            crashed(C#c{reader = start_reader(Sock, C#c.ref)}, ws_init, Reason)
    end.

%% ---------------------------------------------------------------------------------------------------------
%% The reader: blocks in recv on the socket (which stays owned by the connection process, so it closes
%% when that process ends), forwards one chunk at a time.

start_reader(Sock, Ref) ->
    Ws = self(),
    spawn_link(fun() -> reader(Sock, Ws, Ref) end).

reader(Sock, Ws, Ref) ->
    case gen_tcp:recv(Sock, 0) of
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

loop(#c{ref = Ref} = C) ->
    receive
        {Ref, data, Data} ->
            data(Data, touch(C), true);
        {Ref, closed, _} ->
            %% the TCP connection ended without a close frame (RFC 6455 7.1.5: code 1006)
            finish(C, closed);
        Msg ->
            result(ws_info, callback(C#c.mod, ws_info, [Msg, C#c.hstate]), C)
    after timeout(C) ->
        idle(C)
    end.

%% Bytes from the client: let the reader read on (so at most this chunk and the next are held), then
%% parse and handle each event in order.
data(Data, C, Ack) ->
    ack(C, Ack),
    case process(Data, C) of
        {open, C1} -> loop(C1);
        Done -> Done
    end.

process(Data, C) ->
    case httpd_ws_frame:parse(Data, C#c.parser) of
        {ok, Events, P} ->
            events(Events, C#c{parser = P});
        {error, Events, Code, Why} ->
            %% The events before the bad frame are still handled (Autobahn 3.2: echo, then fail).
            case events(Events, C) of
                {open, C1} -> fail(C1, Code, Why);
                Done -> Done
            end
    end.

events([], C) ->
    {open, C};
events([Event | Rest], C) ->
    case event(Event, C) of
        {open, C1} -> events(Rest, C1);
        Done -> Done
    end.

ack(#c{reader = Reader, ref = Ref}, true) -> Reader ! {Ref, ack};
ack(_, false) -> ok.

event({ping, Payload}, C) ->
    %% RFC 6455 5.5.2: answer with a pong carrying the same payload
    send(C, [httpd_ws_frame:serialize({pong, Payload})]);
event({pong, _}, C) ->
    {open, C};
event({close, none, _}, C) ->
    %% RFC 6455 5.5.1 / 7.1.2: answer the close, then close TCP (the server closes first)
    _ = gen_tcp:send(C#c.sock, httpd_ws_frame:serialize(close)),
    finish(C, {remote, none});
event({close, Code, _Reason}, C) ->
    _ = gen_tcp:send(C#c.sock, httpd_ws_frame:serialize({close, Code})),
    finish(C, {remote, Code});
event(Message, C) ->
    after_callback(ws_handle, callback(C#c.mod, ws_handle, [Message, C#c.hstate]), C).

%% After data: a non-final outcome goes back to the event loop; a message from another process goes
%% straight back to the receive loop.
result(Cb, Result, C) ->
    case after_callback(Cb, Result, C) of
        {open, C1} -> loop(C1);
        Done -> Done
    end.

after_callback(_Cb, {ok, HState}, C) ->
    {open, C#c{hstate = HState}};
after_callback(Cb, {reply, Frames, HState}, C) ->
    C1 = C#c{hstate = HState},
    case encode_frames(Frames) of
        {ok, Out, false} -> send(C1, Out);
        {ok, Out, true} ->
            case gen_tcp:send(C1#c.sock, Out) of
                ok -> closing(C1, normal);
                {error, _} -> finish(C1, closed)
            end;
        {error, Reason} -> crashed(C1, Cb, Reason)
    end;
after_callback(_Cb, {stop, HState}, C) ->
    C1 = C#c{hstate = HState},
    _ = gen_tcp:send(C1#c.sock, httpd_ws_frame:serialize({close, 1000, <<>>})),
    closing(C1, normal);
after_callback(Cb, {crash, Reason}, C) ->
    crashed(C, Cb, Reason);
after_callback(Cb, Other, C) ->
    crashed(C, Cb, {bad_return, Other}).

send(C, Out) ->
    case gen_tcp:send(C#c.sock, Out) of
        ok -> {open, C};
        {error, _} -> finish(C, closed)
    end.

%% Serializes the handler's frames; a close frame ends the list (RFC 6455 5.5.1: nothing after close).
encode_frames(Frames) when is_list(Frames) ->
    try encode_frames(Frames, []) of
        Result -> Result
    catch
        error:badarg -> {error, {bad_frames, Frames}}
    end;
encode_frames(Frame) ->
    encode_frames([Frame]).

encode_frames([], Acc) ->
    {ok, lists:reverse(Acc), false};
encode_frames([F | _], Acc) when F =:= close; element(1, F) =:= close ->
    {ok, lists:reverse([httpd_ws_frame:serialize(F) | Acc]), true};
encode_frames([F | Rest], Acc) ->
    encode_frames(Rest, [httpd_ws_frame:serialize(F) | Acc]).

%% ---------------------------------------------------------------------------------------------------------
%% Idle ping and timeout

touch(#c{idle = infinity} = C) -> C#c{deadline = infinity, pinged = false};
touch(#c{idle = Idle} = C) -> C#c{deadline = now_ms() + Idle, pinged = false}.

timeout(#c{deadline = infinity}) -> infinity;
timeout(#c{deadline = D}) -> max(0, D - now_ms()).

idle(#c{pinged = false, idle = Idle} = C) ->
    case gen_tcp:send(C#c.sock, httpd_ws_frame:serialize(ping)) of
        ok -> loop(C#c{pinged = true, deadline = now_ms() + Idle});
        {error, _} -> finish(C, closed)
    end;
idle(C) ->
    _ = gen_tcp:send(C#c.sock, httpd_ws_frame:serialize({close, 1001, <<"idle timeout">>})),
    closing(C, timeout).

now_ms() -> erlang:monotonic_time(millisecond).

%% ---------------------------------------------------------------------------------------------------------
%% Closing

%% A protocol violation (RFC 6455 7.1.7): send the close code, then close TCP once the client has answered
%% or gone quiet. What follows a bad frame cannot be parsed reliably, so each later chunk is tried as the
%% start of the client's close frame with a fresh parser; other bytes are read and dropped (up to
%% ?LINGER_BYTES) rather than left unread, because closing a socket with unread bytes makes the kernel
%% send a reset that can destroy our close frame in flight.
fail(C, Code, Why) ->
    _ = gen_tcp:send(C#c.sock, httpd_ws_frame:serialize({close, Code, Why})),
    case httpd_ws_frame:close_error(Why) of
        true -> finish(C, {error, Code, Why});
        false -> wait_close(C, {broken, ?LINGER_BYTES}, now_ms() + ?CLOSE_TIMEOUT, {error, Code, Why})
    end.

%% We sent a close frame: read on until the client's close frame (data frames are dropped, RFC 6455
%% 1.4), the end of the TCP connection, or the timeout.
closing(C, Reason) ->
    wait_close(C, C#c.parser, now_ms() + ?CLOSE_TIMEOUT, Reason).

wait_close(#c{ref = Ref} = C, Parser, Deadline, Reason) ->
    receive
        {Ref, data, Data} ->
            case close_seen(Data, Parser) of
                true ->
                    finish(C, Reason);
                {false, Parser1} ->
                    ack(C, true),
                    wait_close(C, Parser1, Deadline, Reason)
            end;
        {Ref, closed, _} ->
            finish(C, Reason)
    after max(0, Deadline - now_ms()) ->
        finish(C, Reason)
    end.

%% Whether the wait is over: the client's close frame came, or the stream is beyond repair.
close_seen(Data, {broken, Left}) ->
    case has_close(httpd_ws_frame:parse(Data, httpd_ws_frame:new(#{max_message => 0}))) of
        false when Left > byte_size(Data) -> {false, {broken, Left - byte_size(Data)}};
        _ -> true
    end;
close_seen(Data, Parser) ->
    case httpd_ws_frame:parse(Data, Parser) of
        {ok, Events, P1} ->
            case lists:keymember(close, 1, Events) of
                true -> true;
                false -> {false, P1}
            end;
        {error, _, _, _} ->
            true
    end.

has_close({ok, Events, _}) -> lists:keymember(close, 1, Events);
has_close({error, Events, _, _}) -> lists:keymember(close, 1, Events).

crashed(C, Cb, Reason) ->
    log(C#c.mod, Cb, Reason),
    _ = gen_tcp:send(C#c.sock, httpd_ws_frame:serialize({close, 1011, <<"handler error">>})),
    closing(C, {crash, Reason}).

%% The end: close TCP, stop the reader, tell the handler.
finish(#c{sock = Sock, reader = Reader, ref = Ref, mod = Mod, hstate = HState}, Reason) ->
    _ = gen_tcp:close(Sock),
    case Reader of
        undefined -> ok;
        _ ->
            unlink(Reader),
            Reader ! {Ref, stop}
    end,
    flush(Ref),
    case Mod =/= undefined andalso erlang:function_exported(Mod, ws_terminate, 2) of
        true ->
            case callback(Mod, ws_terminate, [Reason, HState]) of
                {crash, Why} -> log(Mod, ws_terminate, Why);
                _ -> ok
            end;
        false ->
            ok
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
