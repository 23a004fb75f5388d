%% @doc Process (EUnit): gen_tcp_server and httpd_server — the connection cap with `reject' and
%% with `evict_idle', WebSocket-style slots, crash isolation, config checking and profiles.
-module(server_cap_tests).
-include_lib("eunit/include/eunit.hrl").

-import(http_test_client, [connect/1, send/2, response/1, closed/1, header/2]).

routes() ->
    [{<<"/">>, hello_h, #{}}, {<<"/crash">>, crash_h, #{}}].

get_req() -> <<"GET / HTTP/1.1\r\nhost: t\r\n\r\n">>.

%% Polls the server's counters until Pred holds; bounded to 250 tries of 20 ms.
wait_info(Server, Pred) -> wait_info(Server, Pred, 250).

wait_info(Server, _Pred, 0) ->
    error({condition_never_held, httpd_server:info(Server)});
wait_info(Server, Pred, N) ->
    case Pred(httpd_server:info(Server)) of
        true -> ok;
        false -> receive after 20 -> wait_info(Server, Pred, N - 1) end
    end.

full_server_rejects_with_503_and_closes_test() ->
    {Server, Port} = http_test_client:start(routes(), #{max_connections => 1, on_full => reject}),
    try
        A = connect(Port),
        ok = send(A, get_req()),
        #{status := 200} = response(A),
        B = connect(Port),
        R = response(B),
        ?assertMatch(#{status := 503}, R),
        ?assertEqual(<<"close">>, header(<<"connection">>, R)),
        ?assert(closed(B)),
        %% The connection that holds the only slot still works.
        ok = send(A, get_req()),
        ?assertMatch(#{status := 200}, response(A))
    after
        httpd_server:stop(Server)
    end.

full_server_evicts_the_oldest_idle_connection_test() ->
    {Server, Port} = http_test_client:start(routes(),
        #{max_connections => 2, on_full => evict_idle, idle_report_after => 50}),
    try
        A = connect(Port),
        ok = send(A, get_req()),
        #{status := 200} = response(A),
        wait_info(Server, fun(#{idle := I}) -> I =:= 1 end),
        B = connect(Port),
        ok = send(B, get_req()),
        #{status := 200} = response(B),
        wait_info(Server, fun(#{idle := I}) -> I =:= 2 end),
        C = connect(Port),
        ok = send(C, get_req()),
        ?assertMatch(#{status := 200}, response(C)),
        ?assert(closed(A)),
        ok = send(B, get_req()),
        ?assertMatch(#{status := 200}, response(B)),
        ?assertMatch(#{connections := 2}, httpd_server:info(Server))
    after
        httpd_server:stop(Server)
    end.

full_server_with_no_idle_connection_rejects_even_with_evict_idle_test() ->
    {Server, Port} = http_test_client:start(routes(),
        #{max_connections => 1, on_full => evict_idle, idle_report_after => 60000, idle_timeout => 120000}),
    try
        A = connect(Port),
        ok = send(A, get_req()),
        #{status := 200} = response(A),
        B = connect(Port),
        ?assertMatch(#{status := 503}, response(B)),
        ok = send(A, get_req()),
        ?assertMatch(#{status := 200}, response(A))
    after
        httpd_server:stop(Server)
    end.

closed_connections_free_their_slot_test() ->
    {Server, Port} = http_test_client:start(routes(), #{max_connections => 1}),
    try
        [begin
             S = connect(Port),
             ok = send(S, <<"GET / HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n">>),
             ?assertMatch(#{status := 200}, response(S)),
             ?assert(closed(S)),
             gen_tcp:close(S),
             wait_info(Server, fun(#{connections := N}) -> N =:= 0 end)
         end || _ <- lists:seq(1, 3)]
    after
        httpd_server:stop(Server)
    end.

handler_crash_is_a_500_and_leaves_others_running_test() ->
    {Server, Port} = http_test_client:start(routes()),
    try
        A = connect(Port),
        ok = send(A, get_req()),
        #{status := 200} = response(A),
        B = connect(Port),
        ok = send(B, <<"GET /crash HTTP/1.1\r\nhost: t\r\n\r\n">>),
        R = response(B),
        ?assertMatch(#{status := 500, body := <<"internal server error\n">>}, R),
        ?assert(closed(B)),
        ok = send(A, get_req()),
        ?assertMatch(#{status := 200}, response(A)),
        ?assertMatch(#{status := 200}, http_test_client:get(Port, <<"/">>))
    after
        httpd_server:stop(Server)
    end.

claim_hands_out_at_most_max_slots_and_frees_them_on_exit_test() ->
    {Server, _Port} = http_test_client:start(routes()),
    try
        Self = self(),
        Claimer = fun() ->
            Self ! {claimed, self(), gen_tcp_server:claim(Server, websocket, 1)},
            receive stop -> ok end
        end,
        P1 = spawn(Claimer),
        receive {claimed, P1, R1} -> ?assertEqual(ok, R1) end,
        P2 = spawn(Claimer),
        receive {claimed, P2, R2} -> ?assertEqual(full, R2) end,
        ?assertMatch(#{slots := #{websocket := 1}}, httpd_server:info(Server)),
        P1 ! stop,
        wait_info(Server, fun(#{slots := #{websocket := N}}) -> N =:= 0 end),
        P3 = spawn(Claimer),
        receive {claimed, P3, R3} -> ?assertEqual(ok, R3) end,
        [P ! stop || P <- [P2, P3]]
    after
        httpd_server:stop(Server)
    end.

stop_closes_the_listener_and_connections_test() ->
    {Server, Port} = http_test_client:start(routes()),
    A = connect(Port),
    ok = httpd_server:stop(Server),
    ?assert(closed(A)),
    ?assertMatch({error, econnrefused}, gen_tcp:connect({127, 0, 0, 1}, Port, [], 1000)).

bad_config_is_an_error_not_a_crash_test_() ->
    Bad = [
        #{port => -1},
        #{port => 0, routes => not_a_list},
        #{port => 0, routes => [{"/string", hello_h, #{}}]},
        #{port => 0, max_connections => 0},
        #{port => 0, on_full => sometimes},
        #{port => 0, profile => toaster},
        #{port => 0, max_body_size => 10},
        #{port => 0, middleware => [not_a_step]},
        #{port => 0, address => {999, 0, 0, 1}}
    ],
    [?_assertMatch({error, _}, httpd_server:start(C)) || C <- Bad] ++
        [?_assertMatch({error, {bad_config, not_a_map}}, httpd_server:start(nope))].

port_in_use_is_a_listen_error_test() ->
    {Server, Port} = http_test_client:start(routes()),
    try
        ?assertMatch({error, {listen, eaddrinuse}},
                     httpd_server:start(#{port => Port, address => {127, 0, 0, 1}, routes => []}))
    after
        httpd_server:stop(Server)
    end.

host_overrides_win_and_prepend_middleware_test() ->
    application:set_env(avmd, httpd_overrides, #{max_connections => 7, middleware_prepend => [{httpd_mw_security, #{}}]}),
    try
        {ok, Cfg} = httpd_server:config(#{port => 0, max_connections => 3, middleware => [{httpd_mw_log, #{}}]}),
        ?assertEqual(7, maps:get(max_connections, Cfg)),
        ?assertEqual([{httpd_mw_security, #{}}, {httpd_mw_log, #{}}], maps:get(middleware, Cfg))
    after
        application:unset_env(avmd, httpd_overrides)
    end.

every_profile_defines_every_limit_test_() ->
    Keys = maps:keys(httpd_profile:defaults(host)),
    [?_assertEqual(lists:sort(Keys), lists:sort(maps:keys(httpd_profile:defaults(P))))
     || P <- httpd_profile:profiles()].

device_profiles_are_smaller_than_host_test_() ->
    Host = httpd_profile:defaults(host),
    [?_assert(maps:get(K, httpd_profile:defaults(P)) < maps:get(K, Host))
     || P <- [esp32, esp32c3, esp32s3, pico_w],
        K <- [max_connections, max_request_line, max_header_bytes, max_headers, max_body, max_ws_message]].

device_profiles_evict_idle_connections_test_() ->
    [?_assertEqual(evict_idle, maps:get(on_full, httpd_profile:defaults(P))) || P <- [esp32, esp32c3, esp32s3, pico_w]].

merge_keeps_the_config_over_the_profile_test() ->
    M = httpd_profile:merge(esp32, #{max_connections => 9}),
    ?assertEqual(9, maps:get(max_connections, M)),
    ?assertEqual(2048, maps:get(max_request_line, M)),
    ?assertError({unknown_profile, x}, httpd_profile:defaults(x)).

%% The goal is at most 3 KB per idle keep-alive connection on host BEAM, whatever the size of the
%% routes: an idle connection drops its config copy and collects its garbage.
idle_keep_alive_connection_stays_under_3_kb_test() ->
    Routes = [{<<"/r", (integer_to_binary(I))/binary, "/:id">>, hello_h, #{methods => [<<"GET">>]}}
              || I <- lists:seq(1, 30)] ++ routes(),
    {Server, Port} = http_test_client:start(Routes, #{idle_report_after => 50,
                                                      middleware => [{httpd_mw_security, #{}}]}),
    try
        A = connect(Port),
        ok = send(A, get_req()),
        #{status := 200} = response(A),
        wait_info(Server, fun(#{idle := I}) -> I =:= 1 end),
        [Conn] = [P || P <- processes(), {dictionary, D} <- [process_info(P, dictionary)],
                       lists:member({'$gen_tcp_server', Server}, D)],
        ?assert(memory_drops_below(Conn, 3072, 100)),
        %% It still serves, with its config back.
        ok = send(A, <<"GET /r7/x HTTP/1.1\r\nhost: t\r\n\r\n">>),
        ?assertMatch(#{status := 200}, response(A))
    after
        httpd_server:stop(Server)
    end.

%% Bounded poll: the idle report precedes the collection by a moment.
memory_drops_below(_Pid, _Max, 0) ->
    false;
memory_drops_below(Pid, Max, N) ->
    {memory, M} = process_info(Pid, memory),
    M =< Max orelse receive after 20 -> memory_drops_below(Pid, Max, N - 1) end.

gen_tcp_server_runs_any_protocol_and_its_reject_test() ->
    {ok, Server} = gen_tcp_server:start(#{port => 0, address => {127, 0, 0, 1}, protocol => echo_proto_h,
                                          args => <<"echo:">>, max_connections => 1}),
    try
        Port = gen_tcp_server:port(Server),
        {ok, A} = gen_tcp:connect({127, 0, 0, 1}, Port, [binary, {active, false}]),
        ok = gen_tcp:send(A, <<"hi">>),
        ?assertEqual({ok, <<"echo:hi">>}, gen_tcp:recv(A, 0, 5000)),
        {ok, B} = gen_tcp:connect({127, 0, 0, 1}, Port, [binary, {active, false}]),
        ?assertEqual({ok, <<"busy">>}, gen_tcp:recv(B, 0, 5000)),
        ?assertEqual({error, closed}, gen_tcp:recv(B, 0, 5000))
    after
        gen_tcp_server:stop(Server)
    end.

gen_tcp_server_refuses_bad_options_test_() ->
    [?_assertMatch({error, {missing_opt, protocol}}, gen_tcp_server:start(#{port => 0})),
     ?_assertMatch({error, {bad_opt, on_full, maybe}},
                   gen_tcp_server:start(#{port => 0, protocol => echo_proto_h, on_full => maybe})),
     ?_assertMatch({error, {bad_opts, not_a_map}}, gen_tcp_server:start([]))].
