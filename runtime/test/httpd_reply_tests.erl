%% @doc EUnit tests for httpd_reply (pure): exact bytes, plus round trips through OTP's own HTTP
%% response parser (erlang:decode_packet, host only) and through httpd_parse's chunked reader.
-module(httpd_reply_tests).

-include_lib("eunit/include/eunit.hrl").

bin(IoData) -> iolist_to_binary(IoData).

%% Parses a response with OTP's decoder: {Status, [{LowerName, Value}], Body}.
otp_parse(Bin) ->
    {ok, {http_response, {1, 1}, Status, _Phrase}, Rest} = erlang:decode_packet(http_bin, Bin, []),
    otp_headers(Rest, Status, []).

otp_headers(Bin, Status, Acc) ->
    case erlang:decode_packet(httph_bin, Bin, []) of
        {ok, {http_header, _, _, Name, Value}, Rest} ->
            otp_headers(Rest, Status, [{string:lowercase(Name), Value} | Acc]);
        {ok, http_eoh, Body} ->
            {Status, lists:reverse(Acc), Body}
    end.

response_exact_test_() ->
    [
        ?_assertEqual(
            <<"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 13\r\n\r\nHello, World!">>,
            bin(httpd_reply:response(200, [{<<"content-type">>, <<"text/plain">>}], <<"Hello, World!">>, #{}))
        ),
        ?_assertEqual(
            <<"HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\nconnection: close\r\n\r\nno">>,
            bin(httpd_reply:response(404, [], [$n, <<"o">>], #{keepalive => false}))
        ),
        ?_assertEqual(
            <<"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\nok">>,
            bin(httpd_reply:response(200, [], <<"ok">>, #{version => {1, 0}, keepalive => true}))
        ),
        ?_assertEqual(
            <<"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok">>,
            bin(httpd_reply:response(200, [], <<"ok">>, #{version => {1, 0}, keepalive => false}))
        ),
        %% names are written as given, values may be iodata
        ?_assertEqual(
            <<"HTTP/1.1 201 Created\r\nX-Thing: a1\r\ncontent-length: 0\r\n\r\n">>,
            bin(httpd_reply:response(201, [{<<"X-Thing">>, [<<"a">>, "1"]}], <<>>, #{}))
        )
    ].

content_length_rules_test_() ->
    [
        %% the handler's own Content-Length (any case) is kept and not doubled
        ?_assertEqual(
            <<"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc">>,
            bin(httpd_reply:response(200, [{<<"Content-Length">>, <<"3">>}], <<"abc">>, #{}))
        ),
        %% a handler's own Transfer-Encoding: no Content-Length next to it (RFC 9112 6.2)
        ?_assertEqual(
            <<"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n">>,
            bin(httpd_reply:response(200, [{<<"Transfer-Encoding">>, <<"chunked">>}], <<"3\r\nabc\r\n0\r\n\r\n">>, #{}))
        ),
        %% RFC 9110 8.6: no Content-Length and no content in 204 / 304 / 1xx
        ?_assertEqual(
            <<"HTTP/1.1 204 No Content\r\n\r\n">>,
            bin(httpd_reply:response(204, [], <<"ignored">>, #{}))
        ),
        ?_assertEqual(
            <<"HTTP/1.1 304 Not Modified\r\netag: \"x\"\r\n\r\n">>,
            bin(httpd_reply:response(304, [{<<"etag">>, <<"\"x\"">>}], <<"ignored">>, #{}))
        ),
        ?_assertEqual(
            <<"HTTP/1.1 100 Continue\r\n\r\n">>,
            bin(httpd_reply:response(100, [], <<>>, #{}))
        ),
        %% HEAD: the length of the body it would have had, no body
        ?_assertEqual(
            <<"HTTP/1.1 200 OK\r\ncontent-length: 13\r\n\r\n">>,
            bin(httpd_reply:response(200, [], <<"Hello, World!">>, #{head => true}))
        )
    ].

otp_round_trip_test() ->
    Body = binary:copy(<<"0123456789">>, 100),
    Out = bin(
        httpd_reply:response(
            200, [{<<"content-type">>, <<"application/json">>}, {<<"x-a">>, <<"b c">>}], Body, #{keepalive => false}
        )
    ),
    {Status, Headers, RBody} = otp_parse(Out),
    ?assertEqual(200, Status),
    ?assertEqual(
        [
            {<<"content-type">>, <<"application/json">>},
            {<<"x-a">>, <<"b c">>},
            {<<"content-length">>, <<"1000">>},
            {<<"connection">>, <<"close">>}
        ],
        Headers
    ),
    ?assertEqual(Body, RBody).

chunked_head_test_() ->
    [
        ?_assertEqual(
            <<"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n">>,
            bin(httpd_reply:chunked_head(200, [{<<"content-type">>, <<"text/plain">>}], #{}))
        ),
        ?_assertEqual(
            <<"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n">>,
            bin(httpd_reply:chunked_head(200, [], #{keepalive => false}))
        ),
        %% HTTP/1.0 clients do not understand chunked: raw body, delimited by close
        ?_assertEqual(
            <<"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n">>,
            bin(httpd_reply:chunked_head(200, [], #{version => {1, 0}, keepalive => true}))
        )
    ].

chunk_test_() ->
    [
        ?_assertEqual(<<>>, bin(httpd_reply:chunk(<<>>))),
        ?_assertEqual(<<>>, bin(httpd_reply:chunk([[], <<>>]))),
        ?_assertEqual(<<"3\r\nabc\r\n">>, bin(httpd_reply:chunk([<<"ab">>, $c]))),
        ?_assertEqual(<<"FF\r\n", (binary:copy(<<"x">>, 255))/binary, "\r\n">>,
            bin(httpd_reply:chunk(binary:copy(<<"x">>, 255)))),
        ?_assertEqual(<<"0\r\n\r\n">>, httpd_reply:last_chunk())
    ].

%% What the server streams, httpd_parse's chunked reader reads back.
chunked_round_trip_test() ->
    Pieces = [<<"a">>, <<>>, binary:copy(<<"b">>, 300), [<<"c">>, "d"], binary:copy(<<"e">>, 4097)],
    Wire = bin([[httpd_reply:chunk(P) || P <- Pieces], httpd_reply:last_chunk(), <<"NEXT">>]),
    S = httpd_parse:body_init(chunked, 1000000),
    ?assertEqual({done, bin(Pieces), <<"NEXT">>}, httpd_parse:body(Wire, S)).

error_response_test_() ->
    [
        ?_assertEqual(
            <<"HTTP/1.1 414 URI Too Long\r\ncontent-type: text/plain\r\ncontent-length: 22\r\n"
              "connection: close\r\n\r\nrequest line too long\n">>,
            bin(httpd_reply:error_response(414, <<"request line too long">>))
        ),
        ?_test(begin
            {Status, Headers, Body} = otp_parse(bin(httpd_reply:error_response(431, <<"too big">>))),
            ?assertEqual(431, Status),
            ?assertEqual({<<"connection">>, <<"close">>}, lists:keyfind(<<"connection">>, 1, Headers)),
            ?assertEqual(<<"too big\n">>, Body)
        end)
    ].

reason_phrase_test_() ->
    [
        ?_assertEqual(<<"OK">>, httpd_reply:reason_phrase(200)),
        ?_assertEqual(<<"Method Not Allowed">>, httpd_reply:reason_phrase(405)),
        ?_assertEqual(<<"Content Too Large">>, httpd_reply:reason_phrase(413)),
        ?_assertEqual(<<"Request Header Fields Too Large">>, httpd_reply:reason_phrase(431)),
        ?_assertEqual(<<"HTTP Version Not Supported">>, httpd_reply:reason_phrase(505)),
        ?_assertEqual(<<>>, httpd_reply:reason_phrase(599)),
        ?_assertEqual(<<"HTTP/1.1 599 \r\ncontent-length: 0\r\n\r\n">>, bin(httpd_reply:response(599, [], <<>>, #{}))),
        ?_assertError(function_clause, httpd_reply:reason_phrase(1000))
    ].

%% Response splitting: CR or LF in a field is refused, not written.
invalid_input_test_() ->
    [
        ?_assertError({invalid_header, <<"x">>}, httpd_reply:response(200, [{<<"x">>, <<"a\r\nInjected: 1">>}], <<>>, #{})),
        ?_assertError({invalid_header, <<"x\n">>}, httpd_reply:response(200, [{<<"x\n">>, <<"a">>}], <<>>, #{})),
        ?_assertError({invalid_header, <<"x">>}, httpd_reply:chunked_head(200, [{<<"x">>, ["a", $\r]}], #{})),
        ?_assertError({invalid_header, <<"x">>}, httpd_reply:response(200, [{<<"x">>, 42}], <<>>, #{})),
        ?_assertError({invalid_header, not_a_pair}, httpd_reply:response(200, [not_a_pair], <<>>, #{})),
        ?_assertError({invalid_status, 42}, httpd_reply:response(42, [], <<>>, #{}))
    ].
