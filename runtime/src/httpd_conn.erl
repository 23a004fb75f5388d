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

-include("httpd_head.hrl").

%% The loop state is deliberately small: an idle keep-alive connection should cost little more than
%% a bare process blocked in recv. The config values every request reads are copied out of the config
%% map into fields (`hot/2'): on AtomVM a map lookup scans the keys, comparing atoms by name.
%% `conn' is the current request's `#conn{}' (its head included). `reply' holds httpd_reply's prepared
%% options, made once by the server: on AtomVM each use of a compound literal copies it onto the heap
%% and forces a garbage collection, so the request path uses no literal it can avoid (a `<<>>' pattern
%% included).
-record(c, {sock, cfg, server, peer, n = 0, conn, reply, reserve = 0,
            parser, router, mws, idle, report, header_timeout, max_keepalive,
            %% the request map built for the previous request and its route's {Bindings, PathInfo}
            %% (its head is conn's; see req/5)
            last_req, last_route,
            %% an empty map made once (a `#{}' in the code is a literal, loaded at every use on AtomVM)
            no_bindings = #{}}).

%% What a connection's first request map is made from: a literal (copied, never sorted).
-define(BLANK_REQ, #{method => <<"GET">>, raw_path => <<"/">>, path => <<"/">>, qs => <<>>, query => [],
                     version => {1, 1}, headers => [], body => none, keepalive => true,
                     expect_continue => false, bindings => #{}, path_info => [], peer => undefined,
                     '$conn' => undefined}).
-define(BLANK_HEAD, #head{method = <<"GET">>, raw_path = <<"/">>, path = <<"/">>, qs = <<>>, query = [],
                          version = {1, 1}, headers = [], body = none, keepalive = true,
                          expect_continue = false}).

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

%% Words of heap a connection on the `socket' transport (AtomVM) sets aside before it waits for the
%% next request; see reserve/1.
-define(HEAP_RESERVE, 600).

%% @doc gen_tcp_server callback: runs the connection until it is over.
-spec init(term(), map()) -> ok.
init(Sock, Cfg) ->
    Peer =
        case tcp_transport:peername(Sock) of
            {ok, P} -> P;
            _ -> undefined
        end,
    Reserve = case is_port(Sock) of true -> 0; false -> ?HEAP_RESERVE end,
    wait(<<>>, hot(#c{sock = Sock, server = gen_tcp_server:server(), peer = Peer, reserve = Reserve}, Cfg)).

%% The config, and the values the request path reads, in the loop state.
hot(C, Cfg = #{parser := P, router := R, reply := Reply, middleware := M, idle_timeout := I,
               idle_report_after := Rep, header_timeout := H, max_keepalive_requests := K}) ->
    C#c{cfg = Cfg, parser = P, router = R, reply = Reply, mws = M, idle = I, report = Rep,
        header_timeout = H, max_keepalive = K}.

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
wait(Buf, C = #c{sock = S, idle = Idle, report = Report}) when byte_size(Buf) =:= 0 ->
    First = min(Report, Idle),
    reserve(C#c.reserve),
    case tcp_transport:recv(S, 0, First) of
        {ok, Data} -> head_start(Data, C);
        Error -> waited(Error, First, C)
    end;
wait(<<"\r\n">>, C) ->
    %% Some clients send an extra CRLF after a body (RFC 9112 section 2.2): treat as idle.
    wait(<<>>, C);
wait(Buf, C) ->
    head_start(Buf, C).

waited(Error, First, C = #c{sock = S, idle = Idle}) ->
    case Error of
        {error, timeout} when First < Idle ->
            gen_tcp_server:idle(),
            idle_wait(Idle - First, C#c{cfg = undefined, conn = undefined, parser = undefined,
                                        router = undefined, reply = undefined, mws = undefined,
                                        last_req = undefined, last_route = undefined});
        {error, _} ->
            %% idle_timeout: close quietly; RFC 9112 section 9.5 lets a server close an idle
            %% connection at any time.
            tcp_transport:close(S)
    end.

%% AtomVM collects a process's heap as soon as a message lands in it (the socket's wake-up does, for
%% every recv), and sizes the new heap from what was allocated since the last collection. A throwaway
%% block about the size of a request's allocations makes that collection leave room for the whole
%% next request, which otherwise takes one more, growing collection: 3 collections per request
%% become 2 (8% fewer instructions, bench/atomvm). Garbage costs the collector nothing, it copies
%% only live data; an idle connection shrinks its heap anyway (idle_wait/2).
reserve(0) -> ok;
reserve(Words) -> _ = erlang:make_tuple(Words, 0), ok.

idle_wait(Timeout, C = #c{sock = S}) ->
    erlang:garbage_collect(),
    case tcp_transport:recv(S, 0, Timeout) of
        {ok, Data} ->
            case gen_tcp_server:wake() of
                {ok, Cfg} -> head_start(Data, hot(C, Cfg));
                {error, _} -> tcp_transport:close(S)
            end;
        {error, _} ->
            tcp_transport:close(S)
    end.

head_start(Data, C = #c{parser = P0}) ->
    head(Data, P0, undefined, C).

%% The header_timeout deadline is taken only when a head does not arrive whole in its first read
%% (the common case needs no clock read); it then counts from that first piece.
%% (One `{request, ...}' clause and the rest apart, here and in wait/2: clauses on the tuples' first
%% atoms compile to a select that on AtomVM compares `request' with `error' by name first.)
head(Data, P, Deadline0, C) ->
    case httpd_parse:request_head(Data, P) of
        {request, Head, Rest} -> request(Head, Rest, C);
        Other -> head_more(Other, Deadline0, C)
    end.

head_more(Parsed, Deadline0, C = #c{sock = S}) ->
    case Parsed of
        {more, P2} ->
            Deadline =
                case Deadline0 of
                    undefined -> erlang:monotonic_time(millisecond) + C#c.header_timeout;
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

%% The request map. On AtomVM every map key operation compares atoms by name under a lock the
%% schedulers share, and a 14-key map built from variables sorts its keys (91 compares, about 28 us of
%% CPU per request under load on two schedulers). So the map is derived from the one built for the
%% previous request on this connection (or from a literal), updating only the fields that differ: for a
%% client repeating a request only '$conn' (the first key: no compare) changes. The route is matched
%% first, so the bindings go in with it (middleware sees them; one that changes the request has it
%% routed again).
request(H = #head{method = Method, path = Path}, Rest, C = #c{sock = S, cfg = Cfg, n = N0}) ->
    N = N0 + 1,
    Conn = #conn{socket = S, buf = Rest, server = C#c.server, cfg = Cfg, n = N, head = H},
    {Match, Bindings, PathInfo} =
        case httpd_router:match(Method, Path, C#c.router) of
            {ok, _, _, B, PI} = M -> {M, B, PI};
            M -> {M, C#c.no_bindings, []}
        end,
    Req = req(H, Bindings, PathInfo, Conn, C),
    C2 = C#c{n = N, conn = Conn, last_req = Req, last_route = {Bindings, PathInfo}},
    try handle(Match, Method, Req, C) of
        Result -> respond(Result, C2)
    catch
        Class:Reason:Stack -> crashed(Req, Class, Reason, Stack, C2)
    end.

handle(Match, Method, Req, #c{mws = [], router = Router}) -> matched(Match, Method, Req, Router);
handle(Match, Method, Req, #c{mws = Mws, router = Router}) -> run(Match, Method, Req, Mws, Router).

%% C is the state from the previous request: its map, its route and (in conn) its head.
req(H, Bindings, PathInfo, Conn, C = #c{peer = Peer}) ->
    {R0, Prev, {PrevB, PrevPI}} =
        case C#c.last_req of
            undefined -> {?BLANK_REQ#{peer := Peer}, ?BLANK_HEAD, {#{}, []}};
            Last -> {Last, (C#c.conn)#conn.head, C#c.last_route}
        end,
    R1 = differ(H, Prev, R0#{'$conn' := Conn}),
    R2 = if Bindings =:= PrevB -> R1; true -> R1#{bindings := Bindings} end,
    if PathInfo =:= PrevPI -> R2; true -> R2#{path_info := PathInfo} end.

%% The head's fields that differ from the previous head, put into the map (one exact update each: the
%% key tuple is shared, only the values are copied).
differ(#head{method = M, raw_path = RP, path = P, qs = Qs, query = Q, version = V, headers = Hs, body = B,
             keepalive = K, expect_continue = E},
       #head{method = PM, raw_path = PRP, path = PP, qs = PQs, query = PQ, version = PV, headers = PHs,
             body = PB, keepalive = PK, expect_continue = PE}, R0) ->
    R1 = if B =:= PB -> R0; true -> R0#{body := B} end,
    R2 = if E =:= PE -> R1; true -> R1#{expect_continue := E} end,
    R3 = if Hs =:= PHs -> R2; true -> R2#{headers := Hs} end,
    R4 = if K =:= PK -> R3; true -> R3#{keepalive := K} end,
    R5 = if M =:= PM -> R4; true -> R4#{method := M} end,
    R6 = if P =:= PP -> R5; true -> R5#{path := P} end,
    R7 = if Qs =:= PQs -> R6; true -> R6#{qs := Qs} end,
    R8 = if Q =:= PQ -> R7; true -> R7#{query := Q} end,
    R9 = if RP =:= PRP -> R8; true -> R8#{raw_path := RP} end,
    if V =:= PV -> R9; true -> R9#{version := V} end.

%% Request middleware, the routed handler, then (for a reply) response middleware: a crash in any
%% of them is this request's 500.
run(Match, Method, Req, Mws, Router) ->
    case mw_request(Mws, Req, []) of
        %% the request as it was (the same term: the compare is one word): the route found for it
        {ok, Req} -> after_mw(matched(Match, Method, Req, Router), lists:reverse(Mws));
        {ok, Req2} -> after_mw(dispatch(Req2, Router), lists:reverse(Mws));
        {stopped, Entered, Reply} -> after_mw(Reply, Entered)
    end.

%% Response middleware (innermost first) on a reply; other results pass as they are.
after_mw({reply, Status, Headers, Body, Req}, Steps) ->
    {Status2, Headers2, Body2} = mw_response(Req, {Status, Headers, Body}, Steps),
    {reply, Status2, Headers2, Body2, Req};
after_mw(Result, _Steps) ->
    Result.

mw_request([], Req, _Entered) ->
    {ok, Req};
mw_request([Step = {Mod, Opts} | Rest], Req, Entered) ->
    case Mod:request(Req, Opts) of
        {ok, Req2} ->
            mw_request(Rest, Req2, [Step | Entered]);
        {stop, Status, Headers, Body} ->
            %% Only the steps entered so far (the stopping one included) see the response, like
            %% layers of an onion (kept innermost first).
            {stopped, [Step | Entered], {reply, Status, Headers, Body, Req}}
    end.

%% Response steps run in the reverse order of the request steps, like layers of an onion: Steps is
%% innermost first.
mw_response(Req, Resp, Steps) ->
    mw_response_steps(Steps, Req, Resp).

mw_response_steps([{Mod, Opts} | Rest], Req, Resp) ->
    mw_response_steps(Rest, Req, Mod:response(Req, Resp, Opts));
mw_response_steps([], _Req, Resp) ->
    Resp.

%% After middleware: route the (possibly rewritten) request.
dispatch(Req = #{method := Method, path := Path}, Router) ->
    case httpd_router:match(Method, Path, Router) of
        {ok, _, _, Bindings, PathInfo} = Match ->
            matched(Match, Method, Req#{bindings := Bindings, path_info := PathInfo}, Router);
        Other ->
            matched(Other, Method, Req, Router)
    end.

%% A route match (the request already carries its bindings) to the handler's result. Method is the
%% request's (without middleware, the head's: a map lookup compares atom keys by name on AtomVM).
matched(Match, Method, Req, Router) ->
    routed(Match, options(Method), Req, Router).

%% (IsOptions is 1 or 0, not a boolean: on AtomVM a test that finds `false' where it looks for `true'
%% compares the two atoms by name.)
routed({ok, Handler, Opts, _, _}, IsOptions, Req, _Router) when
    IsOptions =:= 0; is_map_key(methods, Opts)
->
    %% The router matches OPTIONS only on a route with no `methods' or one that lists OPTIONS;
    %% only the latter reaches the handler (RFC 9110 section 9.3.7).
    handler(Handler, Req, Opts);
routed({error, {method_not_allowed, Allow}}, 0, Req, _Router) ->
    %% RFC 9110 section 15.5.6: a 405 MUST carry Allow.
    {reply, 405, [{<<"allow">>, lists:join(<<", ">>, Allow)} | ?TEXT_PLAIN], <<"method not allowed\n">>, Req};
routed(_, 1, Req = #{path := Path}, Router) ->
    %% The server answers it; 404 when no route matches the path.
    case httpd_router:allowed(Path, Router) of
        not_found -> not_found(Req);
        Allow -> {reply, 204, [{<<"allow">>, lists:join(<<", ">>, Allow)}], <<>>, Req}
    end;
routed({error, not_found}, 0, Req, _Router) ->
    not_found(Req).

%% Whether a request's method is HEAD (a boolean, for httpd_reply) or OPTIONS (1 or 0, see routed/4).
%% Clauses for several methods compile to a match of the bytes; one `=:= <<"OPTIONS">>' would load the
%% literal on AtomVM (see #c).
is_head(<<"GET">>) -> false;
is_head(<<"HEAD">>) -> true;
is_head(_) -> false.

options(<<"GET">>) -> 0;
options(<<"OPTIONS">>) -> 1;
options(_) -> 0.

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

respond({reply, Status, Headers, Body, _Req}, C = #c{conn = Conn}) ->
    {KeepAlive, Headers2} =
        case take_connection(Headers, []) of
            %% The handler asked to close; httpd_reply writes the one connection field.
            {close, Rest} -> {false, Rest};
            _ -> {keepalive(Conn, C#c.max_keepalive), Headers}
        end,
    Out = httpd_reply:response(Status, Headers2, Body, reply_opts(Conn#conn.head, KeepAlive, C#c.reply)),
    sent(tcp_transport:send(C#c.sock, Out), KeepAlive, C);
respond({done, Req}, C = #c{sock = S}) ->
    case erase('$httpd_stream') of
        {chunked, KeepAlive} ->
            %% The handler stopped without `fin': end the body properly for it.
            sent(tcp_transport:send(S, httpd_reply:last_chunk()), KeepAlive, C);
        {raw, _} ->
            tcp_transport:close(S);
        {_FinOrHead, KeepAlive} ->
            sent(ok, KeepAlive, C);
        undefined ->
            crashed(Req, error, done_without_stream_reply, [], C)
    end;
respond({upgrade, Req, Mod, WsOpts}, _C) ->
    %% httpd_ws_conn answers the handshake, runs the WebSocket loop in this process and closes the
    %% socket when it is over. A tail call: the loop state and its config copy would otherwise stay
    %% live for the WebSocket's whole life.
    _ = erase('$httpd_body'),
    httpd_ws_conn:upgrade(Req, Mod, WsOpts).

crashed(_Req, exit, {httpd_conn, closed}, _Stack, C) ->
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

%% A handler's `connection: close' (the field's first occurrence, as lists:keytake/3 finds it; a local
%% loop, since a call into another module costs on AtomVM), or `keep' with the headers untouched.
take_connection([{<<"connection">>, <<"close">>} | Rest], Before) ->
    {close, lists:reverse(Before, Rest)};
take_connection([{<<"connection">>, _} | _], _Before) ->
    keep;
take_connection([H | Rest], Before) ->
    take_connection(Rest, [H | Before]);
take_connection([], _Before) ->
    keep.

%% After the response went out: keep the connection for the next request, or close it.
sent(ok, KeepAlive, C) when KeepAlive =:= true ->
    %% (a guard, not a `true' pattern: beside the `false' clause that would compile to a select on
    %% the atoms, which on AtomVM compares `true' with `false' by name first)
    case settle(C) of
        {ok, Rest} ->
            wait(Rest, C);
        close ->
            linger_close(C#c.sock)
    end;
sent(ok, _Close, C = #c{conn = #conn{head = #head{keepalive = true}}}) ->
    %% We chose to close (limit reached, body left unread): the client may still be sending.
    linger_close(C#c.sock);
sent(_SendResult, _KeepAlive, C) ->
    tcp_transport:close(C#c.sock).

%% Whether this response may keep the connection: the client wants it, the per-connection request
%% limit is not reached, and the request body is read or can be drained.
%% (The common case first, matched on `true': on AtomVM a `false' tested against `true' compares the
%% atoms by name.)
keepalive(#conn{n = N, head = #head{keepalive = true, body = none}}, Max) when N < Max ->
    true;
keepalive(#conn{n = N, head = H = #head{keepalive = true, body = Body}}, Max) when N < Max ->
    case get('$httpd_body') of
        {done, _} -> true;
        {error, _, _} -> false;
        undefined -> drainable(H, Body, false);
        {reading, _BS, _Buf, Continued} -> drainable(H, Body, Continued)
    end;
keepalive(_Conn, _Max) ->
    false.

%% A client waiting for 100 Continue that never got it may not send the body at all, so the
%% connection cannot be reused safely (RFC 9110 section 10.1.1).
drainable(#head{expect_continue = true}, _Body, false) -> false;
drainable(_H, {length, N}, _) -> N =< ?MAX_DRAIN;
drainable(_H, chunked, _) -> true;
drainable(_H, _, _) -> false.

%% The bytes after this request's body, reading and discarding what the handler left unread.
settle(#c{conn = Conn = #conn{head = #head{body = none}}}) ->
    {ok, Conn#conn.buf};
settle(C = #c{conn = Conn}) ->
    %% (only a request with a body has a body state: one without needs no erase, which on AtomVM
    %% compares the key with the others by name)
    Settled =
        case body_state(Conn) of
            {done, Rest} -> {ok, Rest};
            {reading, BS, Buf, _} -> drain(Buf, BS, 0, C);
            {error, _, _} -> close
        end,
    _ = erase('$httpd_body'),
    Settled.

drain(Buf, BS, Seen, C = #c{sock = S, idle = T}) ->
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

%% The reply's framing follows the request as it came: HEAD gets no body, the version its own.
reply_opts(#head{method = M, version = V}, KeepAlive, Prepared) ->
    httpd_reply:opts(V, KeepAlive, is_head(M), Prepared).

%% ---------------------------------------------------------------------------------------------
%% The body API for handlers (called through httpd_handler)

%% @doc Reads the request body in pieces of at most `length' bytes (default 16384): `{more, Bin, Req}'
%% while more follows, `{ok, Bin, Req}' with the last piece. The first call on a request that
%% expects it sends `100 Continue' (RFC 9110 section 10.1.1).
-spec read_body(req(), map()) -> {more, binary(), req()} | {ok, binary(), req()} | {error, term()}.
read_body(Req = #{'$conn' := Conn = #conn{socket = S, head = H}}, Opts) ->
    %% (a map pattern, not maps:get/3: AtomVM's raises and catches an exception for a missing key)
    Max = case Opts of
        #{length := Length} -> max(1, Length);
        _ -> ?DEFAULT_READ_LENGTH
    end,
    case body_state(Conn) of
        {done, _} ->
            {ok, <<>>, Req};
        {error, _Status, Reason} ->
            {error, Reason};
        {reading, BS, Buf, Continued} ->
            _ =
                case H of
                    #head{expect_continue = true, version = {1, 1}} when Continued =:= false ->
                        tcp_transport:send(S, <<"HTTP/1.1 100 Continue\r\n\r\n">>);
                    _ ->
                        ok
                end,
            read_loop(BS, Buf, Max, [], 0, Req)
    end.

body_state(#conn{buf = Buf, cfg = #{max_body := MaxBody}, head = #head{body = Body}}) ->
    case get('$httpd_body') of
        undefined when Body =:= none ->
            {done, Buf};
        undefined ->
            {reading, httpd_parse:body_init(Body, MaxBody), Buf, false};
        State ->
            State
    end.

read_loop(BS, <<>>, Max, Acc, Got, Req = #{'$conn' := #conn{socket = S, cfg = #{idle_timeout := T}}}) ->
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
stream_reply(Status, Headers, Req = #{'$conn' := Conn = #conn{socket = S, cfg = Cfg, head = H}}) ->
    {Status2, Headers2, _} = mw_response(Req, {Status, Headers, stream}, lists:reverse(maps:get(middleware, Cfg))),
    KeepAlive = keepalive(Conn, maps:get(max_keepalive_requests, Cfg)),
    %% A raw (HTTP/1.0) body ends with the connection, so it never keeps it.
    State =
        case H of
            #head{method = <<"HEAD">>} -> {head, KeepAlive};
            #head{version = {1, 0}} -> {raw, false};
            _ -> {chunked, KeepAlive}
        end,
    stream_send(S, httpd_reply:chunked_head(Status2, Headers2, reply_opts(H, KeepAlive, httpd_reply:opts()))),
    put('$httpd_stream', State),
    Req.

%% @doc Sends one piece of a streamed reply; `fin' ends it.
-spec stream_body(iodata(), nofin | fin, req()) -> ok.
stream_body(Data, Fin, #{'$conn' := #conn{socket = S}}) ->
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
        {error, _} -> exit({httpd_conn, closed})
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
