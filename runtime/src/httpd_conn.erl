%% @doc Process: one HTTP/1.1 connection (a `gen_tcp_server' protocol). It reads request heads with
%% the pure `httpd_parse', runs the middleware and the routed handler in this process, writes the
%% response with `httpd_reply' and loops for keep-alive and pipelined requests.
%%
%% The socket is passive: every wait is a `gen_tcp:recv/3' with a timeout, so the limits hold without
%% timers or messages. `header_timeout' runs from the first byte of a request head (a client sending a
%% byte a second is cut off with 408), `idle_timeout' between requests. The common request costs one
%% recv and one send, and no message to the server process. A handler crash answers 500 and closes
%% this connection only.
%%
%% Per-request state that handlers change through `read_body/2' and `stream_reply/3' lives in the
%% process dictionary (`$httpd_body', `$httpd_stream'), so a handler that returns an older `Req' cannot
%% make the connection misread the next request; it is erased before the connection turns idle.
-module(httpd_conn).
-behaviour(gen_tcp_server).

-export([init/2, reject/2, read_body/2, stream_reply/3, stream_body/3]).

%% The loop state is deliberately tiny: an idle keep-alive connection should cost little more than
%% a bare process blocked in recv.
-record(c, {sock, cfg, server, peer, n = 0}).

%% Unread request body bytes the connection reads and discards after a reply to keep the connection;
%% beyond this it closes instead (RFC 9110 section 9.6 lets a server close rather than read).
-define(MAX_DRAIN, 65536).
%% What `read_body/2' returns at most per call when the handler gives no `length'.
-define(DEFAULT_READ_LENGTH, 16384).
%% Lingering close: how long and how much to read before closing after an error, so the client sees
%% the response instead of a TCP reset caused by its unread request bytes.
%% linger_close/1 bounds: an idle gap, bytes read and dropped, total time.
-define(LINGER_MS, 500).
-define(LINGER_BYTES, 4194304).
-define(LINGER_TOTAL_MS, 5000).

-type req() :: map().

-define(TEXT_PLAIN, [{<<"content-type">>, <<"text/plain">>}]).

%% @doc gen_tcp_server callback: runs the connection until it is over.
-spec init(term(), map()) -> ok.
init(Sock, Cfg) ->
    Peer =
        case tcp_transport:peername(Sock) of
            {ok, P} -> P;
            _ -> undefined
        end,
    wait(<<>>, #c{sock = Sock, cfg = Cfg, server = gen_tcp_server:server(), peer = Peer}).

%% @doc gen_tcp_server callback: the server is full; answer 503 with a one-line reason and close.
-spec reject(term(), map()) -> ok.
reject(Sock, _Cfg) ->
    error_close(Sock, 503, <<"too many connections">>).

%% ---------------------------------------------------------------------------------------------
%% Reading a request head

%% Between requests. Pipelined bytes left over from the previous request start the next head at
%% once; otherwise wait up to idle_timeout. After idle_report_after ms the connection tells the server
%% it is idle (an eviction candidate), drops its copy of the config (routes, middleware: the bulk of
%% its heap) and collects its garbage, so an idle connection costs little more than a bare process;
%% the config comes back from the server with the first bytes of the next request.
wait(<<>>, C = #c{sock = S, cfg = #{idle_timeout := Idle, idle_report_after := Report}}) ->
    First = min(Report, Idle),
    case tcp_transport:recv(S, 0, First) of
        {ok, Data} ->
            head_start(Data, C);
        {error, timeout} when First < Idle ->
            gen_tcp_server:idle(),
            idle_wait(Idle - First, C#c{cfg = undefined});
        {error, _} ->
            %% idle_timeout: close quietly; RFC 9112 section 9.5 lets a server close an idle
            %% connection at any time.
            tcp_transport:close(S)
    end;
wait(<<"\r\n">>, C) ->
    %% Some clients send an extra CRLF after a body (RFC 9112 section 2.2): treat as idle.
    wait(<<>>, C);
wait(Buf, C) ->
    head_start(Buf, C).

idle_wait(Timeout, C = #c{sock = S}) ->
    erlang:garbage_collect(),
    case tcp_transport:recv(S, 0, Timeout) of
        {ok, Data} ->
            case gen_tcp_server:wake() of
                {ok, Cfg} -> head_start(Data, C#c{cfg = Cfg});
                {error, _} -> tcp_transport:close(S)
            end;
        {error, _} ->
            tcp_transport:close(S)
    end.

head_start(Data, C = #c{cfg = #{parser := P0}}) ->
    head(Data, P0, undefined, C).

%% The header_timeout deadline is taken only when a head does not arrive whole in its first read
%% (the common case needs no clock read); it then counts from that first piece.
head(Data, P, Deadline0, C = #c{sock = S}) ->
    case httpd_parse:request(Data, P) of
        {request, Head, Rest} ->
            request(Head, Rest, C);
        {more, P2} ->
            Deadline =
                case Deadline0 of
                    undefined -> erlang:monotonic_time(millisecond) + maps:get(header_timeout, C#c.cfg);
                    _ -> Deadline0
                end,
            Left = Deadline - erlang:monotonic_time(millisecond),
            case Left > 0 andalso tcp_transport:recv(S, 0, Left) of
                {ok, More} -> head(More, P2, Deadline, C);
                {error, Why} when Why =/= timeout -> tcp_transport:close(S);
                _TimedOut -> error_close(S, 408, <<"request header timeout">>)
            end;
        {error, Status, Reason} ->
            error_close(S, Status, Reason)
    end.

%% ---------------------------------------------------------------------------------------------
%% Running a request

request(Head, Rest, C = #c{sock = S, cfg = Cfg, n = N0}) ->
    N = N0 + 1,
    Conn = #{socket => S, buf => Rest, server => C#c.server, cfg => Cfg, n => N},
    Req = Head#{bindings => #{}, path_info => [], peer => C#c.peer, '$conn' => Conn},
    C2 = C#c{n = N},
    try run(Req, Cfg) of
        Result -> respond(Result, C2)
    catch
        Class:Reason:Stack -> crashed(Req, Class, Reason, Stack, C2)
    end.

%% Request middleware, the routed handler, then (for a reply) response middleware: a crash in any
%% of them is this request's 500.
run(Req, Cfg = #{middleware := Mws}) ->
    Result =
        case mw_request(Mws, Req, []) of
            {ok, Req2} -> dispatch(Req2, Cfg);
            Stopped -> Stopped
        end,
    case Result of
        {reply, Status, Headers, Body, Req3} when Mws =/= [] ->
            {Status2, Headers2, Body2} = mw_response(Req3, {Status, Headers, Body}, Cfg),
            {reply, Status2, Headers2, Body2, Req3};
        _ ->
            Result
    end.

mw_request([], Req, _Entered) ->
    {ok, Req};
mw_request([Step = {Mod, Opts} | Rest], Req, Entered) ->
    case Mod:request(Req, Opts) of
        {ok, Req2} ->
            mw_request(Rest, Req2, [Step | Entered]);
        {stop, Status, Headers, Body} ->
            %% Only the steps entered so far (the stopping one included) see the response, like
            %% layers of an onion (kept innermost first); the rare case is kept out of the loop state.
            put('$httpd_mw', [Step | Entered]),
            {reply, Status, Headers, Body, Req}
    end.

%% Response steps run in the reverse order of the request steps, like layers of an onion.
mw_response(Req, Resp, #{middleware := All}) ->
    Steps =
        case erase('$httpd_mw') of
            undefined -> lists:reverse(All);
            Entered -> Entered
        end,
    mw_response_steps(Steps, Req, Resp).

mw_response_steps([{Mod, Opts} | Rest], Req, Resp) ->
    mw_response_steps(Rest, Req, Mod:response(Req, Resp, Opts));
mw_response_steps([], _Req, Resp) ->
    Resp.

dispatch(Req = #{method := Method, path := Path}, #{router := Router}) ->
    case httpd_router:match(Method, Path, Router) of
        %% The router matches OPTIONS only on a route with no `methods' or one that lists OPTIONS;
        %% only the latter reaches the handler (RFC 9110 section 9.3.7).
        {ok, Handler, Opts, Bindings, PathInfo} when Method =/= <<"OPTIONS">>; is_map_key(methods, Opts) ->
            handler(Handler, Req#{bindings := Bindings, path_info := PathInfo}, Opts);
        _ when Method =:= <<"OPTIONS">> ->
            %% The server answers it; 404 when no route matches the path.
            case httpd_router:allowed(Path, Router) of
                not_found -> not_found(Req);
                Allow -> {reply, 204, [{<<"allow">>, lists:join(<<", ">>, Allow)}], <<>>, Req}
            end;
        {error, {method_not_allowed, Allow}} ->
            %% RFC 9110 section 15.5.6: a 405 MUST carry Allow.
            {reply, 405, [{<<"allow">>, lists:join(<<", ">>, Allow)} | ?TEXT_PLAIN], <<"method not allowed\n">>, Req};
        {error, not_found} ->
            not_found(Req)
    end.

not_found(Req) ->
    {reply, 404, ?TEXT_PLAIN, <<"not found\n">>, Req}.

handler(Handler, Req, Opts) ->
    case Handler:handle(Req, Opts) of
        {reply, Status, Headers, Body} -> {reply, Status, Headers, Body, Req};
        {reply, _, _, _, _} = Reply -> Reply;
        {done, _} = Done -> Done;
        {upgrade, websocket, Mod, WsOpts} -> {upgrade, Req, Mod, WsOpts};
        Other -> erlang:error({bad_handler_result, Handler, Other})
    end.

%% ---------------------------------------------------------------------------------------------
%% Answering

respond({reply, Status, Headers, Body, Req}, C) ->
    {KeepAlive, Headers2} =
        case lists:keytake(<<"connection">>, 1, Headers) of
            %% The handler asked to close; httpd_reply writes the one connection field.
            {value, {_, <<"close">>}, Rest} -> {false, Rest};
            _ -> {keepalive(Req), Headers}
        end,
    Out = httpd_reply:response(Status, Headers2, Body, reply_opts(Req, KeepAlive)),
    sent(tcp_transport:send(C#c.sock, Out), KeepAlive, Req, C);
respond({done, Req}, C = #c{sock = S}) ->
    case erase('$httpd_stream') of
        {chunked, KeepAlive} ->
            %% The handler stopped without `fin': end the body properly for it.
            sent(tcp_transport:send(S, httpd_reply:last_chunk()), KeepAlive, Req, C);
        {raw, _} ->
            tcp_transport:close(S);
        {_FinOrHead, KeepAlive} ->
            sent(ok, KeepAlive, Req, C);
        undefined ->
            crashed(Req, error, done_without_stream_reply, [], C)
    end;
respond({upgrade, Req, Mod, WsOpts}, C) ->
    %% httpd_ws_conn answers the handshake and runs the WebSocket loop in this process; when it
    %% returns, the connection is over.
    _ = erase('$httpd_body'),
    _ = httpd_ws_conn:upgrade(Req, Mod, WsOpts),
    tcp_transport:close(C#c.sock).

crashed(_Req, exit, {httpd, closed}, _Stack, C) ->
    %% The client went away while a handler was streaming to it: nothing to log.
    tcp_transport:close(C#c.sock);
crashed(Req, Class, Reason, Stack, #c{sock = S}) ->
    case {erase('$httpd_body'), erase('$httpd_stream')} of
        {{error, Status, Why}, undefined} ->
            %% The handler crashed on a body the client got wrong: that is the client's error.
            error_close(S, Status, Why);
        {_, Streaming} ->
            io:format("httpd: handler crashed on ~p ~p: ~p:~p~n  ~p~n",
                [maps:get(method, Req, <<"?">>), maps:get(raw_path, Req, <<"?">>), Class, Reason, Stack]),
            case Streaming of
                undefined -> error_close(S, 500, <<"internal server error">>);
                %% The status line is already out; all that is left is to cut the body short.
                _ -> tcp_transport:close(S)
            end
    end.

%% After the response went out: keep the connection for the next request, or close it.
sent(ok, true, Req, C) ->
    case settle(Req, C) of
        {ok, Rest} ->
            _ = erase('$httpd_body'),
            wait(Rest, C);
        close ->
            linger_close(C#c.sock)
    end;
sent(ok, false, #{keepalive := true}, C) ->
    %% We chose to close (limit reached, body left unread): the client may still be sending.
    linger_close(C#c.sock);
sent(_SendResult, _KeepAlive, _Req, C) ->
    tcp_transport:close(C#c.sock).

%% Whether this response may keep the connection: the client wants it, the per-connection request
%% limit is not reached, and the request body is read or can be drained.
keepalive(#{keepalive := false}) ->
    false;
keepalive(#{'$conn' := #{n := N, cfg := #{max_keepalive_requests := Max}}}) when N >= Max ->
    false;
keepalive(#{body := none}) ->
    true;
keepalive(Req = #{body := Body}) ->
    case get('$httpd_body') of
        {done, _} -> true;
        {error, _, _} -> false;
        undefined -> drainable(Req, Body, false);
        {reading, _BS, _Buf, Continued} -> drainable(Req, Body, Continued)
    end.

%% A client waiting for 100 Continue that never got it may not send the body at all, so the
%% connection cannot be reused safely (RFC 9110 section 10.1.1).
drainable(#{expect_continue := true}, _Body, false) -> false;
drainable(_Req, {length, N}, _) -> N =< ?MAX_DRAIN;
drainable(_Req, chunked, _) -> true;
drainable(_Req, _, _) -> false.

%% The bytes after this request's body, reading and discarding what the handler left unread.
settle(#{body := none, '$conn' := #{buf := Rest}}, _C) ->
    {ok, Rest};
settle(Req, C) ->
    case body_state(Req) of
        {done, Rest} -> {ok, Rest};
        {reading, BS, Buf, _} -> drain(Buf, BS, 0, C);
        {error, _, _} -> close
    end.

drain(Buf, BS, Seen, C = #c{sock = S, cfg = #{idle_timeout := T}}) ->
    case httpd_parse:body(Buf, BS) of
        {done, _, Rest} ->
            {ok, Rest};
        {more, Chunk, BS2} when Seen + byte_size(Chunk) =< ?MAX_DRAIN ->
            case tcp_transport:recv(S, 0, T) of
                {ok, More} -> drain(More, BS2, Seen + byte_size(Chunk), C);
                {error, _} -> close
            end;
        _ ->
            close
    end.

reply_opts(#{method := <<"HEAD">>, version := V}, KeepAlive) ->
    #{version => V, keepalive => KeepAlive, head => true};
reply_opts(#{version := V}, KeepAlive) ->
    #{version => V, keepalive => KeepAlive}.

%% ---------------------------------------------------------------------------------------------
%% The body API for handlers (called through httpd_handler)

%% @doc Reads the request body in pieces of at most `length' bytes (default 16384): `{more, Bin, Req}'
%% while more follows, `{ok, Bin, Req}' with the last piece. The first call on a request that
%% expects it sends `100 Continue' (RFC 9110 section 10.1.1).
-spec read_body(req(), map()) -> {more, binary(), req()} | {ok, binary(), req()} | {error, term()}.
read_body(Req = #{'$conn' := #{socket := S}}, Opts) ->
    Max = max(1, maps:get(length, Opts, ?DEFAULT_READ_LENGTH)),
    case body_state(Req) of
        {done, _} ->
            {ok, <<>>, Req};
        {error, _Status, Reason} ->
            {error, Reason};
        {reading, BS, Buf, Continued} ->
            _ =
                case Req of
                    #{expect_continue := true, version := {1, 1}} when Continued =:= false ->
                        tcp_transport:send(S, <<"HTTP/1.1 100 Continue\r\n\r\n">>);
                    _ ->
                        ok
                end,
            read_loop(BS, Buf, Max, [], 0, Req)
    end.

body_state(Req = #{'$conn' := #{buf := Buf, cfg := #{max_body := MaxBody}}}) ->
    case get('$httpd_body') of
        undefined ->
            case Req of
                #{body := none} -> {done, Buf};
                #{body := Body} -> {reading, httpd_parse:body_init(Body, MaxBody), Buf, false}
            end;
        State ->
            State
    end.

read_loop(BS, <<>>, Max, Acc, Got, Req = #{'$conn' := #{socket := S, cfg := #{idle_timeout := T}}}) ->
    case tcp_transport:recv(S, 0, T) of
        {ok, Data} -> read_loop(BS, Data, Max, Acc, Got, Req);
        {error, timeout} -> body_error(408, <<"request body timeout">>, timeout);
        {error, Reason} -> body_error(400, <<"connection closed in body">>, Reason)
    end;
read_loop(BS, Buf, Max, Acc, Got, Req) ->
    %% Feed at most what is still wanted, so a piece never exceeds Max; the rest stays buffered.
    Want = Max - Got,
    {In, Keep} =
        case byte_size(Buf) > Want of
            true -> split_binary(Buf, Want);
            false -> {Buf, <<>>}
        end,
    case httpd_parse:body(In, BS) of
        {done, Chunk, Rest} ->
            put('$httpd_body', {done, join_rest(Rest, Keep)}),
            {ok, out([Chunk | Acc]), Req};
        {more, Chunk, BS2} ->
            Got2 = Got + byte_size(Chunk),
            case Got2 >= Max of
                true ->
                    put('$httpd_body', {reading, BS2, Keep, true}),
                    {more, out([Chunk | Acc]), Req};
                false ->
                    read_loop(BS2, Keep, Max, [Chunk | Acc], Got2, Req)
            end;
        {error, Status, Reason} ->
            body_error(Status, Reason, Reason)
    end.

%% The body is broken for good: the connection answers Status if the handler crashes on it.
body_error(Status, Reason, Returned) ->
    put('$httpd_body', {error, Status, Reason}),
    {error, Returned}.

join_rest(Rest, <<>>) -> Rest;
join_rest(<<>>, Keep) -> Keep;
join_rest(Rest, Keep) -> <<Rest/binary, Keep/binary>>.

out([Bin]) -> Bin;
out(Acc) -> iolist_to_binary(lists:reverse(Acc)).

%% @doc Sends the head of a streamed reply (chunked for HTTP/1.1; raw body and close for HTTP/1.0).
-spec stream_reply(100..999, [{binary(), iodata()}], req()) -> req().
stream_reply(Status, Headers, Req = #{'$conn' := #{socket := S, cfg := Cfg}}) ->
    {Status2, Headers2, _} = mw_response(Req, {Status, Headers, stream}, Cfg),
    KeepAlive = keepalive(Req),
    %% A raw (HTTP/1.0) body ends with the connection, so it never keeps it.
    State =
        case Req of
            #{method := <<"HEAD">>} -> {head, KeepAlive};
            #{version := {1, 0}} -> {raw, false};
            _ -> {chunked, KeepAlive}
        end,
    stream_send(S, httpd_reply:chunked_head(Status2, Headers2, reply_opts(Req, KeepAlive))),
    put('$httpd_stream', State),
    Req.

%% @doc Sends one piece of a streamed reply; `fin' ends it.
-spec stream_body(iodata(), nofin | fin, req()) -> ok.
stream_body(Data, Fin, #{'$conn' := #{socket := S}}) ->
    case get('$httpd_stream') of
        {fin, _} ->
            erlang:error(stream_already_finished);
        undefined ->
            erlang:error(stream_body_before_stream_reply);
        {Mode, KeepAlive} ->
            _ =
                case Mode of
                    chunked when Fin =:= fin -> stream_send(S, [httpd_reply:chunk(Data), httpd_reply:last_chunk()]);
                    chunked -> stream_send(S, httpd_reply:chunk(Data));
                    raw -> stream_send(S, Data);
                    head -> ok
                end,
            _ = Fin =:= fin andalso put('$httpd_stream', {fin, KeepAlive}),
            ok
    end.

stream_send(S, Data) ->
    case tcp_transport:send(S, Data) of
        ok -> ok;
        {error, _} -> exit({httpd, closed})
    end.

%% ---------------------------------------------------------------------------------------------

error_close(S, Status, Reason) ->
    _ = tcp_transport:send(S, httpd_reply:error_response(Status, Reason)),
    linger_close(S).

%% Reads (and drops, never keeps) what the client is still sending before closing, so the unread
%% bytes do not make the kernel answer with a reset that destroys our response in flight: a client
%% uploading a body past max_body must still get to read its 413.
linger_close(S) ->
    linger(S, ?LINGER_BYTES, erlang:monotonic_time(millisecond) + ?LINGER_TOTAL_MS),
    tcp_transport:close(S).

linger(S, Left, Deadline) when Left > 0 ->
    case erlang:monotonic_time(millisecond) < Deadline andalso tcp_transport:recv(S, 0, ?LINGER_MS) of
        {ok, Data} -> linger(S, Left - byte_size(Data), Deadline);
        _ -> ok
    end;
linger(_S, _Left, _Deadline) ->
    ok.
