%% @doc EUnit tests for httpd_router (pure), table-driven.
-module(httpd_router_tests).

-include_lib("eunit/include/eunit.hrl").

routes() ->
    httpd_router:compile([
        {<<"/">>, root_h, #{}},
        {<<"/api/items">>, items_h, #{methods => [<<"GET">>, <<"POST">>]}},
        {<<"/api/items/:id">>, item_h, #{methods => [<<"GET">>, <<"PUT">>, <<"DELETE">>]}},
        {<<"/api/items/:id">>, item_patch_h, #{methods => [<<"PATCH">>]}},
        {<<"/users/:user/posts/:post">>, post_h, opts_not_a_map},
        {<<"/static/*">>, static_h, #{dir => <<"www">>}},
        {<<"/ws">>, ws_h, #{methods => [<<"GET">>]}},
        {<<"/first">>, first_h, #{}},
        {<<"/first">>, second_h, #{}},
        {<<"/ro/*">>, ro_h, #{methods => [<<"GET">>]}}
    ]).

match_test_() ->
    R = routes(),
    Cases = [
        {<<"GET">>, <<"/">>, {ok, root_h, #{}, #{}, []}},
        {<<"POST">>, <<"/">>, {ok, root_h, #{}, #{}, []}},
        {<<"GET">>, <<"/api/items">>, {ok, items_h, #{methods => [<<"GET">>, <<"POST">>]}, #{}, []}},
        {<<"GET">>, <<"/api/items/">>, {ok, items_h, #{methods => [<<"GET">>, <<"POST">>]}, #{}, []}},
        {<<"HEAD">>, <<"/api/items">>, {ok, items_h, #{methods => [<<"GET">>, <<"POST">>]}, #{}, []}},
        {<<"GET">>, <<"/api/items/42">>,
            {ok, item_h, #{methods => [<<"GET">>, <<"PUT">>, <<"DELETE">>]}, #{<<"id">> => <<"42">>}, []}},
        %% a later route with the same pattern serves the other methods
        {<<"PATCH">>, <<"/api/items/42">>, {ok, item_patch_h, #{methods => [<<"PATCH">>]}, #{<<"id">> => <<"42">>}, []}},
        {<<"GET">>, <<"/users/ann/posts/7">>,
            {ok, post_h, opts_not_a_map, #{<<"user">> => <<"ann">>, <<"post">> => <<"7">>}, []}},
        {<<"GET">>, <<"/static">>, {ok, static_h, #{dir => <<"www">>}, #{}, []}},
        {<<"GET">>, <<"/static/">>, {ok, static_h, #{dir => <<"www">>}, #{}, []}},
        {<<"GET">>, <<"/static/css/app.css">>, {ok, static_h, #{dir => <<"www">>}, #{}, [<<"css">>, <<"app.css">>]}},
        {<<"GET">>, <<"//static//a">>, {ok, static_h, #{dir => <<"www">>}, #{}, [<<"a">>]}},
        %% first matching route wins
        {<<"GET">>, <<"/first">>, {ok, first_h, #{}, #{}, []}},
        {<<"GET">>, <<"/nope">>, {error, not_found}},
        {<<"GET">>, <<"/api">>, {error, not_found}},
        {<<"GET">>, <<"/api/items/42/more">>, {error, not_found}},
        {<<"GET">>, <<"/users/ann/posts">>, {error, not_found}},
        {<<"GET">>, <<"*">>, {error, not_found}},
        %% literal segments are case-sensitive
        {<<"GET">>, <<"/API/items">>, {error, not_found}},
        {<<"DELETE">>, <<"/api/items">>,
            {error, {method_not_allowed, [<<"GET">>, <<"POST">>, <<"HEAD">>, <<"OPTIONS">>]}}},
        {<<"POST">>, <<"/api/items/1">>,
            {error,
                {method_not_allowed, [
                    <<"GET">>, <<"PUT">>, <<"DELETE">>, <<"HEAD">>, <<"PATCH">>, <<"OPTIONS">>
                ]}}},
        {<<"POST">>, <<"/ws">>, {error, {method_not_allowed, [<<"GET">>, <<"HEAD">>, <<"OPTIONS">>]}}},
        {<<"PUT">>, <<"/ro/x/y">>, {error, {method_not_allowed, [<<"GET">>, <<"HEAD">>, <<"OPTIONS">>]}}},
        {<<"HEAD">>, <<"/ro/x/y">>, {ok, ro_h, #{methods => [<<"GET">>]}, #{}, [<<"x">>, <<"y">>]}}
    ],
    [?_assertEqual(Expect, httpd_router:match(M, P, R)) || {M, P, Expect} <- Cases].

allowed_test_() ->
    R = routes(),
    All = [<<"GET">>, <<"HEAD">>, <<"POST">>, <<"PUT">>, <<"DELETE">>, <<"PATCH">>, <<"OPTIONS">>],
    Cases = [
        {<<"/">>, All},
        {<<"/api/items">>, [<<"GET">>, <<"POST">>, <<"HEAD">>, <<"OPTIONS">>]},
        {<<"/api/items/9">>, [<<"GET">>, <<"PUT">>, <<"DELETE">>, <<"HEAD">>, <<"PATCH">>, <<"OPTIONS">>]},
        {<<"/ws">>, [<<"GET">>, <<"HEAD">>, <<"OPTIONS">>]},
        {<<"/nope">>, not_found}
    ],
    [?_assertEqual(Expect, httpd_router:allowed(P, R)) || {P, Expect} <- Cases].

empty_table_test() ->
    ?assertEqual({error, not_found}, httpd_router:match(<<"GET">>, <<"/">>, httpd_router:compile([]))),
    ?assertEqual(not_found, httpd_router:allowed(<<"/">>, httpd_router:compile([]))).

explicit_head_not_duplicated_test() ->
    R = httpd_router:compile([{<<"/x">>, h, #{methods => [<<"GET">>, <<"HEAD">>]}}]),
    ?assertEqual({error, {method_not_allowed, [<<"GET">>, <<"HEAD">>, <<"OPTIONS">>]}},
        httpd_router:match(<<"PUT">>, <<"/x">>, R)).

bad_routes_test_() ->
    Bad = [
        {<<"no-slash">>, h, #{}},
        {<<"/a/*/b">>, h, #{}},
        {<<"/a/:">>, h, #{}},
        {<<"/a">>, <<"not a module">>, #{}},
        {<<"/a">>, h, #{methods => get}},
        {<<"/a">>, h, #{methods => [get]}},
        not_a_route
    ],
    [?_assertError({bad_route, B}, httpd_router:compile([B])) || B <- Bad] ++
        [?_assertError({bad_routes, x}, httpd_router:compile(x))].
