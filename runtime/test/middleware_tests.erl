%% @doc Process (EUnit): the middleware chain around handlers over real sockets (order, stop,
%% streamed replies) and each built-in step (CORS, security headers, basic auth, log) on its own.
-module(middleware_tests).
-include_lib("eunit/include/eunit.hrl").

-import(http_test_client, [header/2]).

routes() ->
    [{<<"/">>, hello_h, #{}}, {<<"/stream">>, stream_h, #{}}, {<<"/admin/x">>, hello_h, #{}}].

with_server(Mws, Fun) ->
    {Server, Port} = http_test_client:start(routes(), #{middleware => Mws}),
    try Fun(Port) after httpd_server:stop(Server) end.

req(Port, Method, Path, Headers) ->
    Hs = [[N, <<": ">>, V, <<"\r\n">>] || {N, V} <- Headers],
    http_test_client:request(Port, [Method, <<" ">>, Path, <<" HTTP/1.1\r\nhost: t\r\n">>, Hs, <<"\r\n">>], get).

security_headers_are_added_to_replies_and_errors_test() ->
    with_server([{httpd_mw_security, #{}}], fun(Port) ->
        [begin
             R = req(Port, <<"GET">>, P, []),
             ?assertEqual(<<"nosniff">>, header(<<"x-content-type-options">>, R)),
             ?assertEqual(<<"DENY">>, header(<<"x-frame-options">>, R)),
             ?assertEqual(<<"no-referrer">>, header(<<"referrer-policy">>, R))
         end || P <- [<<"/">>, <<"/nope">>, <<"/stream">>]]
    end).

cors_preflight_is_answered_by_the_middleware_test() ->
    with_server([{httpd_mw_cors, #{origins => [<<"http://app.example">>]}}], fun(Port) ->
        R = req(Port, <<"OPTIONS">>, <<"/">>, [{<<"origin">>, <<"http://app.example">>},
                                                {<<"access-control-request-method">>, <<"POST">>}]),
        ?assertMatch(#{status := 204}, R),
        ?assertEqual(<<"http://app.example">>, header(<<"access-control-allow-origin">>, R)),
        ?assertMatch(<<_/binary>>, header(<<"access-control-allow-methods">>, R)),
        ?assertEqual(<<"origin">>, header(<<"vary">>, R)),
        %% A simple request from that origin gets the header; another origin does not.
        ?assertEqual(<<"http://app.example">>,
                     header(<<"access-control-allow-origin">>, req(Port, <<"GET">>, <<"/">>, [{<<"origin">>, <<"http://app.example">>}]))),
        ?assertEqual(undefined,
                     header(<<"access-control-allow-origin">>, req(Port, <<"GET">>, <<"/">>, [{<<"origin">>, <<"http://evil.example">>}])))
    end).

basic_auth_guards_its_prefix_test() ->
    Auth = {httpd_mw_basic_auth, #{users => [{<<"admin">>, <<"s3cret">>}], realm => <<"dev">>, prefix => <<"/admin">>}},
    with_server([Auth], fun(Port) ->
        R = req(Port, <<"GET">>, <<"/admin/x">>, []),
        ?assertMatch(#{status := 401}, R),
        ?assertEqual(<<"Basic realm=\"dev\"">>, header(<<"www-authenticate">>, R)),
        Good = base64:encode(<<"admin:s3cret">>),
        Bad = base64:encode(<<"admin:wrong">>),
        ?assertMatch(#{status := 200}, req(Port, <<"GET">>, <<"/admin/x">>, [{<<"authorization">>, <<"Basic ", Good/binary>>}])),
        ?assertMatch(#{status := 200}, req(Port, <<"GET">>, <<"/admin/x">>, [{<<"authorization">>, <<"basic ", Good/binary>>}])),
        ?assertMatch(#{status := 401}, req(Port, <<"GET">>, <<"/admin/x">>, [{<<"authorization">>, <<"Basic ", Bad/binary>>}])),
        ?assertMatch(#{status := 401}, req(Port, <<"GET">>, <<"/admin/x">>, [{<<"authorization">>, <<"Basic !!!notbase64">>}])),
        ?assertMatch(#{status := 200}, req(Port, <<"GET">>, <<"/">>, []))
    end).

log_writes_one_line_per_request_test() ->
    Self = self(),
    Sink = fun(Line) -> Self ! {log, Line} end,
    with_server([{httpd_mw_log, #{sink => Sink}}], fun(Port) ->
        #{status := 200} = req(Port, <<"GET">>, <<"/?a=1">>, []),
        #{status := 404} = req(Port, <<"GET">>, <<"/nope">>, []),
        L1 = receive {log, A} -> A after 5000 -> none end,
        L2 = receive {log, B} -> B after 5000 -> none end,
        ?assertMatch(<<"GET /?a=1 200 ", _/binary>>, L1),
        ?assertMatch(<<"GET /nope 404 ", _/binary>>, L2)
    end).

%% One request through the log middleware's two steps, in this process (as in a connection process).
log_one(Path, Opts) ->
    {ok, Req} = httpd_mw_log:request(#{method => <<"GET">>, raw_path => Path}, Opts),
    httpd_mw_log:response(Req, {200, [], <<>>}, Opts).

log_lines_are_preformatted_test() ->
    ?assertEqual(<<"GET /a?b=1 404 12ms\n">>, httpd_mw_log:line(<<"GET">>, <<"/a?b=1">>, 404, 12)).

log_sample_writes_one_request_in_n_per_connection_test() ->
    Self = self(),
    Opts = #{sample => 3, sink => fun(L) -> Self ! {log, L} end},
    erase(httpd_mw_log),
    [log_one(integer_to_binary(I), Opts) || I <- lists:seq(1, 7)],
    Paths = [P || {log, <<"GET ", P:1/binary, " ", _/binary>>} <- flush_msgs()],
    %% the connection's first request, then every third
    ?assertEqual([<<"1">>, <<"4">>, <<"7">>], Paths).

log_buffer_writes_batches_within_its_limit_test() ->
    Self = self(),
    Sink = fun(Batch) -> Self ! {batch, Batch} end,
    Opts = #{buffer => 50, sink => Sink},
    %% each line is 15 bytes ("GET /N 200 0ms\n"): three fit, the fourth would pass 50 and goes out
    %% with them in one write
    [log_one(<<"/", (integer_to_binary(I))/binary>>, Opts) || I <- lists:seq(1, 4)],
    B1 = receive {batch, X} -> X after 5000 -> none end,
    ?assertEqual([<<"/1">>, <<"/2">>, <<"/3">>, <<"/4">>], paths(B1)),
    %% what is held is written by a flush (or after a second)
    log_one(<<"/5">>, Opts),
    ok = httpd_mw_log:writer_flush(),
    B2 = receive {batch, Y} -> Y after 5000 -> none end,
    ?assertEqual([<<"/5">>], paths(B2)),
    log_one(<<"/6">>, Opts),
    %% and by the timer a second after the first held line
    B3 = receive {batch, Z} -> Z after 5000 -> none end,
    ?assertEqual([<<"/6">>], paths(B3)).

log_buffer_keeps_sinks_apart_test() ->
    Self = self(),
    A = #{buffer => 1000, sink => fun(B) -> Self ! {a, B} end},
    B = #{buffer => 1000, sink => fun(Bt) -> Self ! {b, Bt} end},
    log_one(<<"/a1">>, A),
    log_one(<<"/b1">>, B),
    log_one(<<"/a2">>, A),
    ok = httpd_mw_log:writer_flush(),
    Msgs = flush_msgs(),
    ?assertEqual([{a, [<<"/a1">>]}, {b, [<<"/b1">>]}, {a, [<<"/a2">>]}], [{K, paths(V)} || {K, V} <- Msgs]).

paths(Batch) ->
    [hd(binary:split(Rest, <<" ">>)) || <<"GET ", Rest/binary>> <- binary:split(Batch, <<"\n">>, [global])].

flush_msgs() ->
    receive M -> [M | flush_msgs()] after 0 -> [] end.

steps_run_in_order_and_responses_in_reverse_test() ->
    %% Auth stops the request before the log's request step, but the log's response step (outer
    %% layer) still sees the 401.
    Self = self(),
    Mws = [{httpd_mw_log, #{sink => fun(L) -> Self ! {log, L} end}},
           {httpd_mw_basic_auth, #{users => []}},
           {httpd_mw_security, #{}}],
    with_server(Mws, fun(Port) ->
        R = req(Port, <<"GET">>, <<"/">>, []),
        ?assertMatch(#{status := 401}, R),
        %% A stopped request skips the later steps: no security headers.
        ?assertEqual(undefined, header(<<"x-frame-options">>, R)),
        ?assertMatch(<<"GET / 401 ", _/binary>>, receive {log, L} -> L after 5000 -> none end)
    end).

%% Pure checks of the steps themselves.
security_keeps_headers_the_handler_set_test() ->
    {200, Hs, <<>>} = httpd_mw_security:response(#{}, {200, [{<<"X-Frame-Options">>, <<"SAMEORIGIN">>}], <<>>}, #{}),
    ?assertEqual([<<"SAMEORIGIN">>], [V || {N, V} <- Hs, httpd_mw_cors:lower(N) =:= <<"x-frame-options">>]).

cors_star_allows_any_origin_test() ->
    Req = #{method => <<"GET">>, headers => [{<<"origin">>, <<"http://x">>}]},
    {200, Hs, b} = httpd_mw_cors:response(Req, {200, [], b}, #{}),
    ?assertEqual({<<"access-control-allow-origin">>, <<"*">>}, lists:keyfind(<<"access-control-allow-origin">>, 1, Hs)).

cors_ignores_requests_without_origin_test() ->
    Req = #{method => <<"OPTIONS">>, headers => []},
    ?assertEqual({ok, Req}, httpd_mw_cors:request(Req, #{})),
    ?assertEqual({204, [], <<>>}, httpd_mw_cors:response(Req, {204, [], <<>>}, #{})).
