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
-define(LINGER_MS, 100).
-define(LINGER_BYTES, 65536).

-type req() :: map().

%% @doc gen_tcp_server callback: runs the connection until it is over.
-spec init(term(), map()) -> ok.
init(Sock, Cfg) ->
    Peer =
        case inet:peername(Sock) of
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
    case gen_tcp:recv(S, 0, First) of
        {ok, Data} ->
            head_start(Data, C);
        {error, timeout} when First < Idle ->
            gen_tcp_server:idle(),
            idle_wait(Idle - First, C#c{cfg = undefined});
        {error, _} ->
            %% idle_timeout: close quietly; RFC 9112 section 9.5 lets a server close an idle
            %% connection at any time.
            close(S)
    end;
wait(<<"\r\n">>, C) ->
    %% Some clients send an extra CRLF after a body (RFC 9112 section 2.2): treat as idle.
    wait(<<>>, C);
wait(Buf, C) ->
    head_start(Buf, C).

idle_wait(Timeout, C = #c{sock = S}) ->
    erlang:garbage_collect(),
    case gen_tcp:recv(S, 0, Timeout) of
        {ok, Data} ->
            case gen_tcp_server:wake() of
                {ok, Cfg} -> head_start(Data, C#c{cfg = Cfg});
                {error, _} -> close(S)
            end;
        {error, _} ->
            close(S)
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
                    undefined -> now_ms() + maps:get(header_timeout, C#c.cfg);
                    _ -> Deadline0
                end,
            case Deadline - now_ms() of
                Left when Left > 0 ->
                    case gen_tcp:recv(S, 0, Left) of
                        {ok, More} -> head(More, P2, Deadline, C);
                        {error, timeout} -> error_close(S, 408, <<"request header timeout">>);
                        {error, _} -> close(S)
                    end;
                _ ->
                    error_close(S, 408, <<"request header timeout">>)
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
    Result =
        try run(Req, Cfg) of
            R -> R
        catch
            Class:Reason:Stack -> {crash, Req, Class, Reason, Stack}
        end,
    respond(Result, Req, C#c{n = N}).

run(Req, Cfg = #{middleware := []}) ->
    dispatch(Req, Cfg);
run(Req, Cfg = #{middleware := Mws}) ->
    case mw_request(Mws, Req) of
        {ok, Req2} -> dispatch(Req2, Cfg);
        {stop, Status, Headers, Body, Req2} -> {reply, Status, Headers, Body, Req2}
    end.

mw_request(Mws, Req) ->
    mw_request(Mws, Req, []).

mw_request([], Req, _Entered) ->
    {ok, Req};
mw_request([Step = {Mod, Opts} | Rest], Req, Entered) ->
    case Mod:request(Req, Opts) of
        {ok, Req2} ->
            mw_request(Rest, Req2, [Step | Entered]);
        {stop, Status, Headers, Body} ->
            %% Only the steps entered so far (the stopping one included) see the response, like
            %% layers of an onion; the rare case is kept out of the loop state.
            put('$httpd_mw', lists:reverse([Step | Entered])),
            {stop, Status, Headers, Body, Req}
    end.

dispatch(Req = #{method := Method, path := Path}, #{router := Router}) ->
    case httpd_router:match(Method, Path, Router) of
        {ok, Handler, Opts, Bindings, PathInfo} when Method =/= <<"OPTIONS">> ->
            handler(Handler, Req#{bindings := Bindings, path_info := PathInfo}, Opts);
        {ok, Handler, Opts, Bindings, PathInfo} ->
            %% OPTIONS reaches a handler only when its route lists OPTIONS itself; otherwise the
            %% server answers it (RFC 9110 section 9.3.7).
            case is_map(Opts) andalso lists:member(<<"OPTIONS">>, maps:get(methods, Opts, [])) of
                true -> handler(Handler, Req#{bindings := Bindings, path_info := PathInfo}, Opts);
                false -> options(Req, Path, Router)
            end;
        {error, not_found} ->
            {reply, 404, text_plain(), <<"not found\n">>, Req};
        {error, {method_not_allowed, _Allow}} when Method =:= <<"OPTIONS">> ->
            options(Req, Path, Router);
        {error, {method_not_allowed, Allow}} ->
            %% RFC 9110 section 15.5.6: a 405 MUST carry Allow.
            {reply, 405, [{<<"allow">>, join(Allow)} | text_plain()], <<"method not allowed\n">>, Req}
    end.

options(Req, Path, Router) ->
    case httpd_router:allowed(Path, Router) of
        not_found -> {reply, 404, text_plain(), <<"not found\n">>, Req};
        Allow -> {reply, 204, [{<<"allow">>, join(Allow)}], <<>>, Req}
    end.

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

respond({reply, Status, Headers, Body, Req}, _Req0, C) ->
    case mw_response(Req, {Status, Headers, Body}, C#c.cfg) of
        {ok, {Status2, Headers2, Body2}} ->
            {KeepAlive, Headers3} =
                case lists:keytake(<<"connection">>, 1, Headers2) of
                    %% The handler asked to close; httpd_reply writes the one connection field.
                    {value, {_, <<"close">>}, Rest} -> {false, Rest};
                    _ -> {keepalive(Req, C), Headers2}
                end,
            Out = httpd_reply:response(Status2, Headers3, Body2, reply_opts(Req, KeepAlive)),
            sent(send(C#c.sock, Out), KeepAlive, Req, C);
        {crash, Class, Reason, Stack} ->
            crashed(Req, Class, Reason, Stack, C)
    end;
respond({done, Req}, _Req0, C) ->
    case erase('$httpd_stream') of
        {fin, _Mode, KeepAlive} ->
            sent(ok, KeepAlive, Req, C);
        {chunked, KeepAlive} ->
            %% The handler stopped without `fin': end the body properly for it.
            sent(send(C#c.sock, httpd_reply:last_chunk()), KeepAlive, Req, C);
        {head, KeepAlive} ->
            sent(ok, KeepAlive, Req, C);
        {raw, _} ->
            close(C#c.sock);
        undefined ->
            crashed(Req, error, done_without_stream_reply, [], C)
    end;
respond({upgrade, Req, Mod, WsOpts}, _Req0, C) ->
    %% httpd_ws_conn answers the handshake and runs the WebSocket loop in this process; when it
    %% returns, the connection is over.
    _ = erase('$httpd_body'),
    _ = httpd_ws_conn:upgrade(Req, Mod, WsOpts),
    close(C#c.sock);
respond({crash, Req, Class, Reason, Stack}, _Req0, C) ->
    crashed(Req, Class, Reason, Stack, C).

crashed(_Req, exit, {httpd, closed}, _Stack, C) ->
    %% The client went away while a handler was streaming to it: nothing to log.
    close(C#c.sock);
crashed(Req, Class, Reason, Stack, #c{sock = S}) ->
    case {erase('$httpd_body'), erase('$httpd_stream')} of
        {{error, Status, Why}, undefined} ->
            %% The handler crashed on a body the client got wrong: that is the client's error.
            error_close(S, Status, Why);
        {_, undefined} ->
            log_crash(Req, Class, Reason, Stack),
            error_close(S, 500, <<"internal server error">>);
        {_, _Streaming} ->
            %% The status line is already out; all that is left is to cut the body short.
            log_crash(Req, Class, Reason, Stack),
            close(S)
    end.

log_crash(Req, Class, Reason, Stack) ->
    Method = maps:get(method, Req, <<"?">>),
    Path = maps:get(raw_path, Req, <<"?">>),
    io:format("httpd: handler crashed on ~p ~p: ~p:~p~n  ~p~n", [Method, Path, Class, Reason, Stack]).

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
sent(ok, false, _Req, C) ->
    close(C#c.sock);
sent({error, _}, _, _Req, C) ->
    close(C#c.sock).

%% Whether this response may keep the connection: the client wants it, the per-connection request
%% limit is not reached, and the request body is read or can be drained.
keepalive(#{keepalive := false}, _C) ->
    false;
keepalive(_Req, #c{n = N, cfg = #{max_keepalive_requests := Max}}) when N >= Max ->
    false;
keepalive(#{body := none}, _C) ->
    true;
keepalive(Req = #{body := Body}, _C) ->
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

drain(Buf, BS, Seen, C = #c{sock = S}) ->
    case httpd_parse:body(Buf, BS) of
        {done, _, Rest} ->
            {ok, Rest};
        {more, Chunk, BS2} when Seen + byte_size(Chunk) =< ?MAX_DRAIN ->
            case gen_tcp:recv(S, 0, idle_timeout(C)) of
                {ok, More} -> drain(More, BS2, Seen + byte_size(Chunk), C);
                {error, _} -> close
            end;
        _ ->
            close
    end.

idle_timeout(#c{cfg = #{idle_timeout := T}}) -> T.

reply_opts(#{method := <<"HEAD">>, version := V}, KeepAlive) ->
    #{version => V, keepalive => KeepAlive, head => true};
reply_opts(#{version := V}, KeepAlive) ->
    #{version => V, keepalive => KeepAlive}.

mw_response(_Req, Resp, #{middleware := []}) ->
    {ok, Resp};
mw_response(Req, Resp, #{middleware := All}) ->
    %% Response steps run in the reverse order of the request steps, like layers of an onion.
    Mws =
        case erase('$httpd_mw') of
            undefined -> All;
            Entered -> Entered
        end,
    try
        {ok,
            lists:foldl(
                fun({Mod, Opts}, Acc) -> Mod:response(Req, Acc, Opts) end,
                Resp,
                lists:reverse(Mws)
            )}
    catch
        Class:Reason:Stack -> {crash, Class, Reason, Stack}
    end.

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
        {reading, BS, Buf, false} ->
            _ =
                case Req of
                    #{expect_continue := true, version := {1, 1}} ->
                        send(S, <<"HTTP/1.1 100 Continue\r\n\r\n">>);
                    _ ->
                        ok
                end,
            read_loop(BS, Buf, Max, [], 0, Req);
        {reading, BS, Buf, true} ->
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
    case gen_tcp:recv(S, 0, T) of
        {ok, Data} ->
            read_loop(BS, Data, Max, Acc, Got, Req);
        {error, timeout} ->
            put('$httpd_body', {error, 408, <<"request body timeout">>}),
            {error, timeout};
        {error, Reason} ->
            put('$httpd_body', {error, 400, <<"connection closed in body">>}),
            {error, Reason}
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
            put('$httpd_body', {error, Status, Reason}),
            {error, Reason}
    end.

join_rest(Rest, <<>>) -> Rest;
join_rest(<<>>, Keep) -> Keep;
join_rest(Rest, Keep) -> <<Rest/binary, Keep/binary>>.

out([Bin]) -> Bin;
out(Acc) -> iolist_to_binary(lists:reverse(Acc)).

%% @doc Sends the head of a streamed reply (chunked for HTTP/1.1; raw body and close for HTTP/1.0).
-spec stream_reply(100..999, [{binary(), iodata()}], req()) -> req().
stream_reply(Status, Headers, Req = #{'$conn' := #{socket := S, cfg := Cfg}}) ->
    {Status2, Headers2, _} =
        case mw_response(Req, {Status, Headers, stream}, Cfg) of
            {ok, Resp} -> Resp;
            {crash, Class, Reason, Stack} -> erlang:raise(Class, Reason, Stack)
        end,
    KeepAlive = keepalive(Req, #c{n = maps:get(n, maps:get('$conn', Req)), cfg = Cfg}),
    Mode =
        case Req of
            #{method := <<"HEAD">>} -> head;
            #{version := {1, 0}} -> raw;
            _ -> chunked
        end,
    Opts = #{version => maps:get(version, Req), keepalive => KeepAlive},
    ok = stream_send(S, httpd_reply:chunked_head(Status2, Headers2, Opts)),
    put('$httpd_stream', {Mode, KeepAlive}),
    Req.

%% @doc Sends one piece of a streamed reply; `fin' ends it.
-spec stream_body(iodata(), nofin | fin, req()) -> ok.
stream_body(Data, Fin, #{'$conn' := #{socket := S}}) ->
    case get('$httpd_stream') of
        {chunked, KA} when Fin =:= fin ->
            ok = stream_send(S, [httpd_reply:chunk(Data), httpd_reply:last_chunk()]),
            put('$httpd_stream', {fin, chunked, KA}),
            ok;
        {chunked, _} ->
            stream_send(S, httpd_reply:chunk(Data));
        {raw, _} ->
            ok = stream_send(S, Data),
            finish(Fin, raw, false);
        {head, KA} ->
            finish(Fin, head, KA);
        {fin, _, _} ->
            erlang:error(stream_already_finished);
        undefined ->
            erlang:error(stream_body_before_stream_reply)
    end.

finish(fin, Mode, KA) ->
    put('$httpd_stream', {fin, Mode, KA}),
    ok;
finish(nofin, _Mode, _KA) ->
    ok.

stream_send(S, Data) ->
    case send(S, Data) of
        ok -> ok;
        {error, _} -> exit({httpd, closed})
    end.

%% ---------------------------------------------------------------------------------------------

send(S, Data) ->
    gen_tcp:send(S, Data).

error_close(S, Status, Reason) ->
    _ = send(S, httpd_reply:error_response(Status, Reason)),
    linger_close(S).

%% Reads (and drops) what the client is still sending for a short while before closing, so the
%% unread bytes do not make the kernel answer with a reset that destroys our response in flight.
linger_close(S) ->
    linger(S, ?LINGER_BYTES, 8),
    close(S).

linger(_S, Left, Tries) when Left =< 0; Tries =< 0 ->
    ok;
linger(S, Left, Tries) ->
    case gen_tcp:recv(S, 0, ?LINGER_MS) of
        {ok, Data} -> linger(S, Left - byte_size(Data), Tries - 1);
        {error, _} -> ok
    end.

close(S) ->
    _ = gen_tcp:close(S),
    ok.

now_ms() ->
    erlang:monotonic_time(millisecond).

text_plain() ->
    [{<<"content-type">>, <<"text/plain">>}].

join([A]) -> A;
join([A | R]) -> [A, <<", ">> | join(R)];
join([]) -> <<>>.
