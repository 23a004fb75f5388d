%% @doc Process (EUnit): httpd_static over real sockets — files from priv (through atomvm:read_priv,
%% here the host shim's table filled with atomvm:add_priv), gzip twins and q-values, ETag/304,
%% index.html, MIME types, and refused traversal attempts.
-module(static_tests).
-include_lib("eunit/include/eunit.hrl").

-import(http_test_client, [header/2]).

-define(APP, static_t).

files() ->
    [
        {<<"www/index.html">>, <<"<h1>home</h1>">>},
        {<<"www/app.js">>, <<"console.log(1);">>},
        {<<"www/app.js.gz">>, zlib:gzip(<<"console.log(1);">>)},
        {<<"www/css/site.css">>, <<"body{}">>},
        {<<"www/docs/index.html">>, <<"docs">>},
        {<<"www/only.txt.gz">>, zlib:gzip(<<"only gz">>)},
        {<<"secret.txt">>, <<"SECRET">>}
    ].

%% The priv table belongs to a holder process that lives for the whole suite.
setup() ->
    Self = self(),
    Holder = spawn(fun() ->
        [atomvm:add_priv(?APP, P, B) || {P, B} <- files()],
        Self ! ready,
        receive stop -> ok end
    end),
    receive ready -> ok end,
    {Server, Port} = http_test_client:start([
        {<<"/">>, httpd_static, #{app => ?APP}},
        {<<"/static/*">>, httpd_static, #{app => ?APP, dir => <<"www">>, cache_control => <<"max-age=5">>}}
    ]),
    {Holder, Server, Port}.

cleanup({Holder, Server, _Port}) ->
    httpd_server:stop(Server),
    Holder ! stop.

static_test_() ->
    {setup, fun setup/0, fun cleanup/1, fun({_, _, Port}) ->
        [
            {"plain file with type, etag and cache-control", ?_test(plain(Port))},
            {"gzip twin sent when accepted", ?_test(gzip(Port))},
            {"gzip;q=0 refuses the twin", ?_test(gzip_q0(Port))},
            {"star accepts gzip", ?_test(gzip_star(Port))},
            {"if-none-match gives 304", ?_test(not_modified(Port))},
            {"index.html for a directory", ?_test(index(Port))},
            {"missing file is 404", ?_test(?assertMatch(#{status := 404}, get(Port, <<"/static/nope.js">>)))},
            {"gz-only file without gzip is 406", ?_test(?assertMatch(#{status := 406}, get(Port, <<"/static/only.txt">>)))},
            {"traversal is refused", ?_test(traversal(Port))},
            {"HEAD has headers and no body", ?_test(head(Port))},
            {"POST is 405", ?_test(post(Port))}
        ]
    end}.

get(Port, Path) -> get(Port, Path, []).

get(Port, Path, Headers) ->
    Hs = [[N, <<": ">>, V, <<"\r\n">>] || {N, V} <- Headers],
    http_test_client:request(Port, [<<"GET ">>, Path, <<" HTTP/1.1\r\nhost: t\r\n">>, Hs, <<"\r\n">>], get).

plain(Port) ->
    R = get(Port, <<"/static/css/site.css">>),
    ?assertMatch(#{status := 200, body := <<"body{}">>}, R),
    ?assertMatch(<<"text/css", _/binary>>, header(<<"content-type">>, R)),
    ?assertEqual(<<"max-age=5">>, header(<<"cache-control">>, R)),
    ?assertMatch(<<"\"", _/binary>>, header(<<"etag">>, R)),
    ?assertEqual(undefined, header(<<"content-encoding">>, R)).

gzip(Port) ->
    R = get(Port, <<"/static/app.js">>, [{<<"accept-encoding">>, <<"br, gzip, deflate">>}]),
    ?assertMatch(#{status := 200}, R),
    ?assertEqual(<<"gzip">>, header(<<"content-encoding">>, R)),
    ?assertEqual(<<"accept-encoding">>, header(<<"vary">>, R)),
    ?assertMatch(<<"text/javascript", _/binary>>, header(<<"content-type">>, R)),
    ?assertEqual(<<"console.log(1);">>, zlib:gunzip(maps:get(body, R))),
    %% Without Accept-Encoding the plain file comes, still with vary.
    R2 = get(Port, <<"/static/app.js">>),
    ?assertEqual(<<"console.log(1);">>, maps:get(body, R2)),
    ?assertEqual(<<"accept-encoding">>, header(<<"vary">>, R2)),
    ?assertNotEqual(header(<<"etag">>, R), header(<<"etag">>, R2)).

gzip_q0(Port) ->
    R = get(Port, <<"/static/app.js">>, [{<<"accept-encoding">>, <<"gzip;q=0, deflate">>}]),
    ?assertEqual(undefined, header(<<"content-encoding">>, R)),
    R2 = get(Port, <<"/static/app.js">>, [{<<"accept-encoding">>, <<"*;q=1, GZIP; Q=0.000">>}]),
    ?assertEqual(undefined, header(<<"content-encoding">>, R2)).

gzip_star(Port) ->
    R = get(Port, <<"/static/app.js">>, [{<<"accept-encoding">>, <<"*">>}]),
    ?assertEqual(<<"gzip">>, header(<<"content-encoding">>, R)).

not_modified(Port) ->
    ETag = header(<<"etag">>, get(Port, <<"/static/css/site.css">>)),
    R = get(Port, <<"/static/css/site.css">>, [{<<"if-none-match">>, <<"\"other\", ", ETag/binary>>}]),
    ?assertMatch(#{status := 304, body := <<>>}, R),
    ?assertEqual(ETag, header(<<"etag">>, R)),
    ?assertMatch(#{status := 200}, get(Port, <<"/static/css/site.css">>, [{<<"if-none-match">>, <<"\"other\"">>}])).

index(Port) ->
    ?assertMatch(#{status := 200, body := <<"<h1>home</h1>">>}, get(Port, <<"/">>)),
    ?assertMatch(#{status := 200, body := <<"<h1>home</h1>">>}, get(Port, <<"/static/">>)),
    ?assertMatch(#{status := 200, body := <<"docs">>}, get(Port, <<"/static/docs/">>)).

traversal(Port) ->
    Attempts = [
        <<"/static/../secret.txt">>,
        <<"/static/%2e%2e/secret.txt">>,
        <<"/static/%2E%2E%2Fsecret.txt">>,
        <<"/static/css/..%2f..%2fsecret.txt">>,
        <<"/static/..%5csecret.txt">>,
        <<"/static/app.js%00.png">>
    ],
    [begin
         R = get(Port, P),
         ?assert(lists:member(maps:get(status, R), [400, 404])),
         ?assertEqual(nomatch, binary:match(maps:get(body, R), <<"SECRET">>))
     end || P <- Attempts].

head(Port) ->
    R = http_test_client:request(Port, <<"HEAD /static/css/site.css HTTP/1.1\r\nhost: t\r\n\r\n">>, head),
    ?assertMatch(#{status := 200, body := <<>>}, R),
    ?assertEqual(<<"6">>, header(<<"content-length">>, R)).

post(Port) ->
    R = http_test_client:request(Port, <<"POST /static/app.js HTTP/1.1\r\nhost: t\r\ncontent-length: 0\r\n\r\n">>, get),
    ?assertMatch(#{status := 405}, R),
    ?assertEqual(<<"GET, HEAD">>, header(<<"allow">>, R)).

%% Pure parts, tested apart from sockets.
accepts_gzip_test_() ->
    A = fun(V) -> httpd_static:accepts_gzip(#{headers => [{<<"accept-encoding">>, V}]}) end,
    [
        ?_assert(A(<<"gzip">>)),
        ?_assert(A(<<"deflate, gzip;q=0.5">>)),
        ?_assert(A(<<"*">>)),
        ?_assertNot(A(<<"gzip;q=0">>)),
        ?_assertNot(A(<<"gzip;q=0.0">>)),
        ?_assertNot(A(<<"identity">>)),
        ?_assertNot(A(<<"*;q=0">>)),
        ?_assertNot(httpd_static:accepts_gzip(#{headers => []}))
    ].

safe_path_test_() ->
    [
        ?_assertEqual({ok, <<"a/b.js">>}, httpd_static:safe_path([<<"a">>, <<"b.js">>])),
        ?_assertEqual(error, httpd_static:safe_path([<<"..">>, <<"x">>])),
        ?_assertEqual(error, httpd_static:safe_path([<<".">>])),
        ?_assertEqual(error, httpd_static:safe_path([<<"a/b">>])),
        ?_assertEqual(error, httpd_static:safe_path([<<"a\\b">>])),
        ?_assertEqual(error, httpd_static:safe_path([<<"a", 0, "b">>]))
    ].
