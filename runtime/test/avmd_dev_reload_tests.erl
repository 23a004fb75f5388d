%% @doc EUnit for the host-only live-reload middleware `avmd_dev_reload' (pure).
-module(avmd_dev_reload_tests).
-include_lib("eunit/include/eunit.hrl").

-define(OPTS, #{script_url => <<"http://127.0.0.1:9/livereload.js">>}).
-define(TAG, <<"<script src=\"http://127.0.0.1:9/livereload.js\" data-avmd-dev=\"livereload\"></script>">>).

resp(Headers, Body) -> avmd_dev_reload:response(#{}, {200, Headers, Body}, ?OPTS).

injects_before_the_last_closing_body_tag_test() ->
    {200, _, Body} = resp([{<<"content-type">>, <<"text/html; charset=utf-8">>}],
        [<<"<html><body>x</body>">>, <<"</BODY></html>">>]),
    ?assertEqual(<<"<html><body>x</body>", ?TAG/binary, "</BODY></html>">>, Body).

appends_when_there_is_no_body_tag_test() ->
    {200, _, Body} = resp([{<<"Content-Type">>, <<"TEXT/HTML">>}], <<"<p>hi">>),
    ?assertEqual(<<"<p>hi", ?TAG/binary>>, Body).

drops_a_stale_content_length_test() ->
    {200, H, _} = resp([{<<"content-type">>, <<"text/html">>}, {<<"Content-Length">>, <<"5">>}], <<"hello">>),
    ?assertEqual([{<<"content-type">>, <<"text/html">>}], H).

gzip_html_is_served_as_identity_with_the_script_test() ->
    Gz = zlib:gzip(<<"<body>z</body>">>),
    {200, H, Body} = resp([{<<"content-type">>, <<"text/html">>}, {<<"content-encoding">>, <<"gzip">>},
        {<<"content-length">>, integer_to_binary(byte_size(Gz))}], Gz),
    ?assertEqual(<<"<body>z", ?TAG/binary, "</body>">>, Body),
    ?assertEqual([{<<"content-type">>, <<"text/html">>}], H).

broken_gzip_and_unknown_encodings_are_left_alone_test() ->
    H1 = [{<<"content-type">>, <<"text/html">>}, {<<"content-encoding">>, <<"gzip">>}],
    ?assertEqual({200, H1, <<"not gzip">>}, resp(H1, <<"not gzip">>)),
    H2 = [{<<"content-type">>, <<"text/html">>}, {<<"content-encoding">>, <<"br">>}],
    ?assertEqual({200, H2, <<"xx">>}, resp(H2, <<"xx">>)).

other_types_and_streams_pass_through_test() ->
    H = [{<<"content-type">>, <<"application/json">>}],
    ?assertEqual({200, H, <<"{}">>}, resp(H, <<"{}">>)),
    ?assertEqual({200, [], <<"x">>}, resp([], <<"x">>)),
    Hh = [{<<"content-type">>, <<"text/html">>}],
    ?assertEqual({200, Hh, stream}, resp(Hh, stream)).

requests_pass_through_test() ->
    ?assertEqual({ok, #{a => 1}}, avmd_dev_reload:request(#{a => 1}, ?OPTS)),
    Req = #{headers => [{<<"accept-encoding">>, <<"gzip">>}, {<<"host">>, <<"x">>}]},
    ?assertEqual({ok, Req}, avmd_dev_reload:request(Req, ?OPTS)).

identity_drops_accept_encoding_test() ->
    %% where nothing can inflate gzip (AtomVM), pages are asked for in identity
    Req = #{headers => [{<<"accept-encoding">>, <<"gzip">>}, {<<"host">>, <<"x">>}]},
    ?assertEqual({ok, #{headers => [{<<"host">>, <<"x">>}]}},
        avmd_dev_reload:request(Req, ?OPTS#{identity => true})).

the_url_is_escaped_in_the_attribute_test() ->
    ?assertEqual(<<"<script src=\"a&quot;&lt;b\" data-avmd-dev=\"livereload\"></script>">>,
        avmd_dev_reload:script_tag(<<"a\"<b">>)).
