%% @doc Pure (EUnit): the atomvm_lib compatibility layer's pure parts — reply forms and error atoms to
%% statuses, the request map, header names, query keys, `httpd:routes/1', json_encoder, the API and
%% WebSocket answer mappings. The socket paths run end to end in tests/legacy (host and AtomVM).
-module(legacy_tests).
-include_lib("eunit/include/eunit.hrl").

-define(OCTETS, {<<"content-type">>, <<"application/octet-stream">>}).
-define(CLOSE, {<<"connection">>, <<"close">>}).

reply_forms_map_to_statuses_test_() ->
    R = fun httpd_legacy:reply/1,
    [?_assertEqual({ok, 200, [?OCTETS], <<"hi">>}, R({reply, <<"hi">>, st})),
     ?_assertEqual({ok, 200, [{<<"content-type">>, <<"text/html">>}], "<p>"},
                   R({reply, #{"Content-Type" => "text/html"}, "<p>", st})),
     ?_assertEqual({ok, 200, [?CLOSE], <<>>}, R(close)),
     ?_assertEqual({ok, 200, [?CLOSE, ?OCTETS], <<"bye">>}, R({close, <<"bye">>})),
     ?_assertEqual({ok, 200, [?CLOSE, {<<"x-a">>, <<"1">>}], [<<"a">>, "b"]},
                   R({close, #{<<"X-A">> => 1}, [<<"a">>, "b"]})),
     ?_assertEqual({error, 404, not_found}, R({error, not_found})),
     ?_assertEqual({error, 400, bad_request}, R({error, bad_request})),
     ?_assertEqual({error, 500, internal_server_error}, R({error, internal_server_error})),
     ?_assertEqual({error, 500, {error, teapot}}, R({error, teapot})),
     ?_assertEqual({error, 500, what}, R(what)),
     %% a body that is not iodata is the handler's error, not the connection's crash
     ?_assertMatch({error, 500, {not_iodata, {a, b}}}, R({reply, {a, b}, st}))].

reply_headers_drop_content_length_and_take_any_text_test() ->
    Hs = httpd_legacy:headers(#{"Content-Length" => "99", 'X-Atom' => ok, <<"X-Int">> => 7}),
    ?assertEqual([{<<"x-atom">>, <<"ok">>}, {<<"x-int">>, <<"7">>}], lists:sort(Hs)).

title_case_test_() ->
    T = fun httpd_legacy:title_case/1,
    [?_assertEqual(<<"Content-Length">>, T(<<"content-length">>)),
     ?_assertEqual(<<"Sec-Websocket-Key">>, T(<<"sec-websocket-key">>)),
     ?_assertEqual(<<"X-1a">>, T(<<"x-1a">>)),
     ?_assertEqual(<<"Host">>, T(<<"host">>))].

methods_are_atoms_and_unknown_ones_undefined_test_() ->
    [?_assertEqual(get, httpd_legacy:method(<<"GET">>)),
     ?_assertEqual(delete, httpd_legacy:method(<<"DELETE">>)),
     ?_assertEqual(patch, httpd_legacy:method(<<"PATCH">>)),
     ?_assertEqual(undefined, httpd_legacy:method(<<"BREW">>))].

query_keys_are_atoms_only_when_they_exist_test() ->
    Key = <<"avmd_no_such_atom_", (integer_to_binary(erlang:unique_integer([positive])))/binary>>,
    Q = httpd_legacy:query_params([{<<"name">>, <<"x y">>}, {Key, <<"1">>}, {<<"name">>, <<"second">>}]),
    ?assertEqual(#{name => "x y", Key => "1"}, Q),
    ?assertError(badarg, binary_to_existing_atom(Key, utf8)).

request_map_is_atomvm_libs_test() ->
    Req = #{method => <<"POST">>, path => <<"/api/items/7">>, raw_path => <<"/api/items/7?a=1">>,
            qs => <<"a=1">>, query => [{<<"a">>, <<"1">>}],
            headers => [{<<"content-length">>, <<"3">>}, {<<"accept">>, <<"a">>}, {<<"accept">>, <<"b">>}]},
    L = httpd_legacy:request(Req, [<<"items">>, <<"7">>]),
    ?assertMatch(#{method := post, path := [<<"api">>, <<"items">>, <<"7">>],
                   path_suffix := [<<"items">>, <<"7">>], uri := "/api/items/7?a=1",
                   query_params := #{a := "1"}, socket := undefined}, L),
    ?assertEqual(#{<<"Content-Length">> => <<"3">>, <<"Accept">> => <<"a, b">>}, maps:get(headers, L)).

routes_keep_the_order_and_prefix_test() ->
    ?assertEqual([{<<"/api/v1/*">>, httpd_api_handler, #{module => m}},
                  {<<"/ws/*">>, httpd_ws_handler, #{}},
                  {<<"/*">>, httpd_file_handler, #{app => a}}],
                 httpd:routes([{[<<"api">>, "v1"], #{handler => httpd_api_handler, handler_config => #{module => m}}},
                               {[<<"ws">>], #{handler => httpd_ws_handler}},
                               {[], #{handler => httpd_file_handler, handler_config => #{app => a}}}])),
    ?assertError({bad_handler, {[<<"x">>], #{}}}, httpd:routes([{[<<"x">>], #{}}])),
    ?assertMatch({error, {bad_config, {bad_handler, _}}}, httpd:start(#{port => 0, handlers => [nope]})).

json(T) -> iolist_to_binary(json_encoder:encode(T)).

json_encoder_test_() ->
    [?_assertEqual(<<"{\"a\":1}">>, json(#{a => 1})),
     ?_assertEqual(<<"{\"k\":\"v\"}">>, json([{k, "v"}])),
     ?_assertEqual(<<"[1,\"x\",true,null]">>, json([1, <<"x">>, true, undefined])),
     ?_assertEqual(<<"\"hello\"">>, json("hello")),
     ?_assertEqual(<<"\"\"">>, json([])),
     ?_assertEqual(<<"null">>, json(nil)),
     ?_assertEqual(<<"\"esp32\"">>, json(esp32)),
     %% escaped and UTF-8, unlike atomvm_lib's own
     ?_assertEqual(<<"\"a\\\"b\"">>, json(<<"a\"b">>)),
     ?_assertEqual(<<"\"caf", 195, 169, "\"">>, json([$c, $a, $f, 233])),
     ?_assertEqual(<<"[300]">>, json([300])),
     ?_assertEqual(<<"{\"m\":{\"n\":[\"s\"]}}">>, json(#{m => [{n, ["s"]}]})),
     ?_assertError({json_encode, _}, json({a, tuple}))].

api_answers_test_() ->
    A = fun httpd_api_handler:legacy_result/1,
    Text = {<<"content-type">>, <<"text/plain">>},
    [?_assertEqual({ok, 200, [Text], <<"ok">>}, A(ok)),
     ?_assertEqual({ok, 200, [Text], <<"done">>}, A({ok, done})),
     ?_assertEqual({ok, 200, [Text], "text"}, A({ok, "text"})),
     ?_assertMatch({ok, 200, [{<<"content-type">>, <<"application/json">>}], _}, A({ok, #{a => 1}})),
     ?_assertMatch({ok, 200, [{<<"content-type">>, <<"application/json">>}, ?CLOSE], _}, A({close, #{a => 1}})),
     ?_assertEqual({error, 404, not_found}, A(not_found)),
     ?_assertEqual({error, 400, bad_request}, A(bad_request)),
     ?_assertEqual({error, 400, bad_request}, A({error, bad_request})),
     ?_assertEqual({error, 500, internal_server_error}, A(internal_server_error)),
     ?_assertMatch({error, 500, {not_json, _}}, A({ok, #{a => self()}}))].

ws_answers_test_() ->
    W = fun(T) -> httpd_legacy_ws:result(m, T) end,
    [?_assertEqual({reply, {text, <<"pong">>}, {m, s}}, W({reply, <<"pong">>, s})),
     ?_assertEqual({ok, {m, s}}, W({noreply, s})),
     ?_assertEqual({reply, [{text, "bye"}, {close, 1000, <<>>}], {m, s}}, W({close, "bye", s})),
     ?_assertEqual({stop, {m, s}}, W({close, s})),
     ?_assertEqual({reply, {close, 1011, <<"handler error">>}, {m, undefined}}, W(oops))].

%% The host shim the host runner points erlang:system_info/1 at (engine/src/host_shims.rs).
host_system_info_answers_like_atomvm_test_() ->
    [?_assertEqual(undefined, atomvm:system_info(esp32_free_heap_size)),
     ?_assert(is_binary(atomvm:system_info(atomvm_version))),
     ?_assert(is_binary(atomvm:system_info(system_architecture))),
     ?_assertEqual("BEAM", atomvm:system_info(machine)),
     ?_assertEqual(erlang:system_info(wordsize), atomvm:system_info(wordsize)),
     ?_assertError(badarg, atomvm:system_info("not an atom"))].
