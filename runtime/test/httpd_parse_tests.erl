%% @doc EUnit tests for httpd_parse (pure). Every case is fed whole, in pseudo-random splits from
%% fixed seeds, and one byte at a time; all must give the same answer.
-module(httpd_parse_tests).

-include_lib("eunit/include/eunit.hrl").

-define(SEEDS, lists:seq(1, 25)).

%% ---------------------------------------------------------------------------------------------
%% Feeding helpers
%% ---------------------------------------------------------------------------------------------

%% Splits Bin into pieces of 1..MaxPiece bytes with a small LCG (deterministic per seed).
splits(Bin, Seed) -> splits(Bin, Seed, 9, []).

splits(<<>>, _X, _Max, Acc) ->
    lists:reverse(Acc);
splits(Bin, X, Max, Acc) ->
    X2 = (1103515245 * X + 12345) band 16#7FFFFFFF,
    N = min(byte_size(Bin), 1 + (X2 bsr 16) rem Max),
    <<Piece:N/binary, Rest/binary>> = Bin,
    splits(Rest, X2, Max, [Piece | Acc]).

bytes(Bin) -> [<<C>> || <<C>> <= Bin].

%% All the ways of feeding one input.
feedings(Bin) ->
    [{whole, [Bin]}, {bytes, bytes(Bin)} | [{{seed, S}, splits(Bin, S)} || S <- ?SEEDS]].

%% Feeds pieces to request/2; the rest of a request includes the pieces not yet fed.
feed_request(Pieces, Limits) -> feed_request_(Pieces, httpd_parse:new(Limits)).

feed_request_([], _S) ->
    more;
feed_request_([P | Ps], S) ->
    case httpd_parse:request(P, S) of
        {more, S2} -> feed_request_(Ps, S2);
        {request, Head, Rest} -> {request, Head, iolist_to_binary([Rest | Ps])};
        {error, Status, Reason} when is_binary(Reason) -> {error, Status}
    end.

feed_body(Pieces, BodySpec, Max) -> feed_body_(Pieces, httpd_parse:body_init(BodySpec, Max), []).

feed_body_([], _S, Acc) ->
    {more, iolist_to_binary(lists:reverse(Acc))};
feed_body_([P | Ps], S, Acc) ->
    case httpd_parse:body(P, S) of
        {more, Chunk, S2} when is_binary(Chunk) -> feed_body_(Ps, S2, [Chunk | Acc]);
        {done, Chunk, Rest} ->
            {done, iolist_to_binary(lists:reverse([Chunk | Acc])), iolist_to_binary([Rest | Ps])};
        {error, Status, Reason} when is_binary(Reason) -> {error, Status}
    end.

%% Checks every key of Expected against the head.
check_head(Expected, Head) ->
    maps:foreach(fun(K, V) -> ?assertEqual({K, V}, {K, maps:get(K, Head)}) end, Expected).

%% ---------------------------------------------------------------------------------------------
%% Request heads: table of {Name, Input, Limits, Expect}
%% Expect: {ok, HeadSubset, Rest} | {error, Status}
%% ---------------------------------------------------------------------------------------------

long(N, C) -> binary:copy(<<C>>, N).

request_cases() ->
    [
        {"simple GET", <<"GET / HTTP/1.1\r\nHost: h\r\n\r\n">>, #{},
            {ok,
                #{
                    method => <<"GET">>,
                    path => <<"/">>,
                    raw_path => <<"/">>,
                    qs => <<>>,
                    query => [],
                    version => {1, 1},
                    headers => [{<<"host">>, <<"h">>}],
                    body => none,
                    keepalive => true,
                    expect_continue => false
                },
                <<>>}},
        {"path decoding and query", <<"GET /a%20b/%C3%A9?x=1&y=a+b%21&z&&w= HTTP/1.1\r\nHost: h\r\n\r\n">>,
            #{},
            {ok,
                #{
                    path => <<"/a b/", 16#C3, 16#A9>>,
                    raw_path => <<"/a%20b/%C3%A9?x=1&y=a+b%21&z&&w=">>,
                    qs => <<"x=1&y=a+b%21&z&&w=">>,
                    query => [{<<"x">>, <<"1">>}, {<<"y">>, <<"a b!">>}, {<<"z">>, <<>>}, {<<"w">>, <<>>}]
                },
                <<>>}},
        {"HTTP/1.0 without Host closes", <<"GET /x HTTP/1.0\r\n\r\n">>, #{},
            {ok, #{version => {1, 0}, keepalive => false, headers => []}, <<>>}},
        {"HTTP/1.0 keep-alive", <<"GET /x HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n">>, #{},
            {ok, #{version => {1, 0}, keepalive => true}, <<>>}},
        {"HTTP/1.1 Connection close among tokens",
            <<"GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, CLOSE\r\n\r\n">>, #{},
            {ok, #{keepalive => false}, <<>>}},
        {"two Connection lines", <<"GET / HTTP/1.1\r\nConnection: x\r\nHost: h\r\nConnection: close\r\n\r\n">>,
            #{}, {ok, #{keepalive => false}, <<>>}},
        {"content-length body", <<"POST /f HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello">>, #{},
            {ok, #{method => <<"POST">>, body => {length, 5}}, <<"hello">>}},
        {"content-length zero", <<"POST /f HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n">>, #{},
            {ok, #{body => none}, <<>>}},
        {"chunked", <<"PUT /f HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n">>, #{},
            {ok, #{method => <<"PUT">>, body => chunked, keepalive => true}, <<"0\r\n\r\n">>}},
        {"chunked in HTTP/1.0 closes", <<"POST / HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n">>,
            #{}, {ok, #{body => chunked, keepalive => false}, <<>>}},
        {"expect 100-continue",
            <<"POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n">>, #{},
            {ok, #{expect_continue => true, body => {length, 3}}, <<>>}},
        {"expect in HTTP/1.0 ignored", <<"POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n">>, #{},
            {ok, #{expect_continue => false}, <<>>}},
        {"leading empty lines skipped", <<"\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n">>, #{},
            {ok, #{method => <<"GET">>}, <<>>}},
        {"bare LF line ends", <<"GET /lf HTTP/1.1\nHost: h\n\nX">>, #{},
            {ok, #{path => <<"/lf">>, headers => [{<<"host">>, <<"h">>}]}, <<"X">>}},
        %% (a whole head in one piece takes the split-based path: these mix its cases with line ends)
        {"bare LF and CRLF mixed", <<"GET /m HTTP/1.1\nHost: h\r\nA: 1\n\r\n">>, #{},
            {ok, #{path => <<"/m">>, headers => [{<<"host">>, <<"h">>}, {<<"a">>, <<"1">>}]}, <<>>}},
        {"head ends at a bare-LF empty line before a CRLFCRLF", <<"GET / HTTP/1.1\nHost: h\n\nB: 2\r\n\r\n">>, #{},
            {ok, #{headers => [{<<"host">>, <<"h">>}]}, <<"B: 2\r\n\r\n">>}},
        {"a lone CR in a value", <<"GET / HTTP/1.1\r\nHost: h\rx\r\n\r\n">>, #{}, {error, 400}},
        {"a CR before the CRLFCRLF", <<"GET / HTTP/1.1\r\nHost: h\r\r\n\r\n">>, #{}, {error, 400}},
        {"header bytes counted with bare LFs", <<"GET / HTTP/1.1\nA: 12\nHost: h\r\n\r\n">>,
            #{max_header_bytes => 16}, {ok, #{headers => [{<<"a">>, <<"12">>}, {<<"host">>, <<"h">>}]}, <<>>}},
        {"header bytes counted with bare LFs, one past", <<"GET / HTTP/1.1\nA: 123\nHost: h\r\n\r\n">>,
            #{max_header_bytes => 15}, {error, 431}},
        {"names lower-cased, values trimmed, order kept",
            <<"GET / HTTP/1.1\r\nX-Custom-HEADER:  a b \t\r\nhost:h\r\nAccept: */*\r\nX-Empty:\r\n"
              "x-custom-header: 2\r\n\r\n">>, #{},
            {ok,
                #{
                    headers => [
                        {<<"x-custom-header">>, <<"a b">>},
                        {<<"host">>, <<"h">>},
                        {<<"accept">>, <<"*/*">>},
                        {<<"x-empty">>, <<>>},
                        {<<"x-custom-header">>, <<"2">>}
                    ]
                },
                <<>>}},
        {"obs-text in a value", <<"GET / HTTP/1.1\r\nHost: h\r\nX: caf", 16#C3, 16#A9, "\r\n\r\n">>, #{},
            {ok, #{headers => [{<<"host">>, <<"h">>}, {<<"x">>, <<"caf", 16#C3, 16#A9>>}]}, <<>>}},
        {"absolute-form", <<"GET http://example.com:8080/p%41th?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n">>,
            #{}, {ok, #{path => <<"/pAth">>, raw_path => <<"/p%41th?q=1">>, qs => <<"q=1">>}, <<>>}},
        {"absolute-form without path", <<"GET http://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n">>,
            #{}, {ok, #{path => <<"/">>, raw_path => <<"/">>}, <<>>}},
        {"asterisk-form", <<"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n">>, #{},
            {ok, #{method => <<"OPTIONS">>, path => <<"*">>}, <<>>}},
        {"every known method", <<"DELETE /d HTTP/1.1\r\nHost: h\r\n\r\n">>, #{},
            {ok, #{method => <<"DELETE">>}, <<>>}},
        {"PATCH", <<"PATCH /d HTTP/1.1\r\nHost: h\r\n\r\n">>, #{}, {ok, #{method => <<"PATCH">>}, <<>>}},
        {"HEAD", <<"HEAD /d HTTP/1.1\r\nHost: h\r\n\r\n">>, #{}, {ok, #{method => <<"HEAD">>}, <<>>}},
        {"pipelined rest", <<"GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n">>, #{},
            {ok, #{path => <<"/1">>}, <<"GET /2 HTTP/1.1\r\nHost: h\r\n\r\n">>}},
        %% 400
        {"missing Host", <<"GET / HTTP/1.1\r\n\r\n">>, #{}, {error, 400}},
        {"duplicate Host", <<"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n">>, #{}, {error, 400}},
        {"bad method token", <<"G(T / HTTP/1.1\r\nHost: h\r\n\r\n">>, #{}, {error, 400}},
        {"empty method", <<" / HTTP/1.1\r\nHost: h\r\n\r\n">>, #{}, {error, 400}},
        {"double space", <<"GET  / HTTP/1.1\r\nHost: h\r\n\r\n">>, #{}, {error, 400}},
        {"no version", <<"GET /\r\nHost: h\r\n\r\n">>, #{}, {error, 400}},
        {"trailing garbage after version", <<"GET / HTTP/1.1 x\r\nHost: h\r\n\r\n">>, #{}, {error, 400}},
        {"lowercase version", <<"GET / http/1.1\r\nHost: h\r\n\r\n">>, #{}, {error, 400}},
        {"bad version digits", <<"GET / HTTP/1.x\r\nHost: h\r\n\r\n">>, #{}, {error, 400}},
        {"relative target", <<"GET a/b HTTP/1.1\r\nHost: h\r\n\r\n">>, #{}, {error, 400}},
        {"asterisk with GET", <<"GET * HTTP/1.1\r\nHost: h\r\n\r\n">>, #{}, {error, 400}},
        {"control byte in target", <<"GET /a", 1, "b HTTP/1.1\r\nHost: h\r\n\r\n">>, #{}, {error, 400}},
        {"fragment in target", <<"GET /a#b HTTP/1.1\r\nHost: h\r\n\r\n">>, #{}, {error, 400}},
        {"bad percent-encoding", <<"GET /a%zz HTTP/1.1\r\nHost: h\r\n\r\n">>, #{}, {error, 400}},
        {"truncated percent-encoding", <<"GET /a%2 HTTP/1.1\r\nHost: h\r\n\r\n">>, #{}, {error, 400}},
        {"encoded NUL in path", <<"GET /a%00 HTTP/1.1\r\nHost: h\r\n\r\n">>, #{}, {error, 400}},
        {"obs-fold", <<"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n  b\r\n\r\n">>, #{}, {error, 400}},
        {"missing colon", <<"GET / HTTP/1.1\r\nHost: h\r\nBroken\r\n\r\n">>, #{}, {error, 400}},
        {"space before colon", <<"GET / HTTP/1.1\r\nHost : h\r\n\r\n">>, #{}, {error, 400}},
        {"empty header name", <<"GET / HTTP/1.1\r\nHost: h\r\n: x\r\n\r\n">>, #{}, {error, 400}},
        {"bad header name", <<"GET / HTTP/1.1\r\nHost: h\r\nX(y): 1\r\n\r\n">>, #{}, {error, 400}},
        {"NUL in value", <<"GET / HTTP/1.1\r\nHost: h\r\nX: a", 0, "b\r\n\r\n">>, #{}, {error, 400}},
        {"bare CR in value", <<"GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n">>, #{}, {error, 400}},
        {"DEL in value", <<"GET / HTTP/1.1\r\nHost: h\r\nX: a", 127, "\r\n\r\n">>, #{}, {error, 400}},
        {"bad content-length", <<"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1x\r\n\r\n">>, #{},
            {error, 400}},
        {"negative content-length", <<"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n">>, #{},
            {error, 400}},
        {"empty content-length", <<"POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n">>, #{},
            {error, 400}},
        {"list content-length", <<"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1, 1\r\n\r\n">>, #{},
            {error, 400}},
        {"duplicate content-length",
            <<"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n">>, #{},
            {error, 400}},
        {"both CL and TE",
            <<"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n">>, #{},
            {error, 400}},
        {"too many empty lines", <<(binary:copy(<<"\r\n">>, 9))/binary, "GET / HTTP/1.1\r\nHost: h\r\n\r\n">>,
            #{}, {error, 400}},
        %% 501
        {"unknown method", <<"BREW / HTTP/1.1\r\nHost: h\r\n\r\n">>, #{}, {error, 501}},
        {"methods are case-sensitive", <<"get / HTTP/1.1\r\nHost: h\r\n\r\n">>, #{}, {error, 501}},
        {"CONNECT", <<"CONNECT h:443 HTTP/1.1\r\nHost: h\r\n\r\n">>, #{}, {error, 501}},
        {"gzip transfer coding", <<"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n">>, #{},
            {error, 501}},
        {"coding list", <<"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n">>, #{},
            {error, 501}},
        {"two TE lines",
            <<"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n">>,
            #{}, {error, 501}},
        %% 505
        {"HTTP/2.0", <<"GET / HTTP/2.0\r\nHost: h\r\n\r\n">>, #{}, {error, 505}},
        {"HTTP/1.2", <<"GET / HTTP/1.2\r\nHost: h\r\n\r\n">>, #{}, {error, 505}},
        {"HTTP/0.9 style version", <<"GET / HTTP/0.9\r\n\r\n">>, #{}, {error, 505}},
        {"HTTP/2 preface", <<"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n">>, #{}, {error, 505}},
        %% 413
        {"content-length past max_body", <<"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n">>,
            #{max_body => 10}, {error, 413}},
        {"content-length at max_body", <<"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n">>,
            #{max_body => 10}, {ok, #{body => {length, 10}}, <<>>}},
        {"huge content-length", <<"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1234567890123456789\r\n\r\n">>,
            #{}, {error, 413}}
    ] ++ limit_cases().

%% Limits exactly at and one past each bound.
limit_cases() ->
    %% "GET /" ++ pad ++ " HTTP/1.1" is 14 + pad bytes
    Line = fun(Len) -> <<"GET /", (long(Len - 14, $a))/binary, " HTTP/1.1">> end,
    ReqLine = fun(Len) -> <<(Line(Len))/binary, "\r\nHost: h\r\n\r\n">> end,
    %% header section: "Host: h\r\n" (9 bytes) + "X: " pad "\r\n" (5 + pad bytes)
    Hdrs = fun(Total) ->
        <<"GET / HTTP/1.1\r\nHost: h\r\nX: ", (long(Total - 14, $v))/binary, "\r\n\r\n">>
    end,
    NHdrs = fun(N) ->
        iolist_to_binary([<<"GET / HTTP/1.1\r\nHost: h\r\n">>, [<<"X: 1\r\n">> || _ <- lists:seq(2, N)], <<"\r\n">>])
    end,
    [
        {"request line at max", ReqLine(40), #{max_request_line => 40}, {ok, #{method => <<"GET">>}, <<>>}},
        {"request line one past max", ReqLine(41), #{max_request_line => 40}, {error, 414}},
        {"request line one past max, no end yet", <<(Line(42))/binary>>, #{max_request_line => 40},
            {error, 414}},
        {"default request line bound", ReqLine(2049), #{}, {error, 414}},
        {"header bytes at max", Hdrs(60), #{max_header_bytes => 60}, {ok, #{method => <<"GET">>}, <<>>}},
        {"header bytes one past max", Hdrs(61), #{max_header_bytes => 60}, {error, 431}},
        {"default header bytes bound", Hdrs(4097), #{}, {error, 431}},
        {"headers at max count", NHdrs(3), #{max_headers => 3}, {ok, #{method => <<"GET">>}, <<>>}},
        {"headers one past max count", NHdrs(4), #{max_headers => 3}, {error, 431}},
        {"default header count bound", NHdrs(33), #{}, {error, 431}}
    ].

%% One test per case; it runs every feeding and names the one that fails.
request_test_() ->
    [
        {Name, fun() -> [{How, ok} = {How, run_request(Pieces, Limits, Expect)} || {How, Pieces} <- feedings(Input)] end}
     || {Name, Input, Limits, Expect} <- request_cases()
    ].

run_request(Pieces, Limits, {ok, Subset, Rest}) ->
    case feed_request(Pieces, Limits) of
        {request, Head, R} ->
            check_head(Subset, Head),
            ?assertEqual(Rest, R),
            ok;
        Other ->
            ?assertEqual(request, Other)
    end;
run_request(Pieces, Limits, {error, Status}) ->
    ?assertEqual({error, Status}, feed_request(Pieces, Limits)),
    ok.

incomplete_head_test() ->
    ?assertEqual(more, feed_request([<<"GET / HTTP/1.1\r\nHost: h\r\n">>], #{})),
    ?assertEqual(more, feed_request([<<>>], #{})),
    ?assertEqual(more, feed_request([<<"\r\n">>], #{})).

pipelined_requests_parse_in_turn_test() ->
    Two = <<"GET /1 HTTP/1.1\r\nHost: h\r\n\r\nPOST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nokGET /3 HTTP/1.1\r\nHost: h\r\n\r\n">>,
    {request, H1, R1} = httpd_parse:request(Two, httpd_parse:new(#{})),
    ?assertEqual(<<"/1">>, maps:get(path, H1)),
    {request, H2, R2} = httpd_parse:request(R1, httpd_parse:new(#{})),
    ?assertEqual({length, 2}, maps:get(body, H2)),
    {done, <<"ok">>, R3} = httpd_parse:body(R2, httpd_parse:body_init({length, 2}, 100)),
    {request, H3, <<>>} = httpd_parse:request(R3, httpd_parse:new(#{})),
    ?assertEqual(<<"/3">>, maps:get(path, H3)).

%% ---------------------------------------------------------------------------------------------
%% Bodies: {Name, Input, BodySpec, MaxBody, Expect}; Expect: {done, Data, Rest} | {error, Status}
%% ---------------------------------------------------------------------------------------------

body_cases() ->
    [
        {"no body", <<"NEXT">>, none, 10, {done, <<>>, <<"NEXT">>}},
        {"length", <<"hello worldNEXT">>, {length, 11}, 100, {done, <<"hello world">>, <<"NEXT">>}},
        {"length at max", <<"0123456789">>, {length, 10}, 10, {done, <<"0123456789">>, <<>>}},
        {"length one past max", <<"0123456789A">>, {length, 11}, 10, {error, 413}},
        {"chunked simple", <<"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nNEXT">>, chunked, 100,
            {done, <<"hello world">>, <<"NEXT">>}},
        {"chunked with extensions and trailers",
            <<"5;name=value;x\r\nhello\r\nA ; q=\"a;b\"\r\n0123456789\r\n0;last\r\nExpires: never\r\nX-T: 1\r\n\r\nNEXT">>,
            chunked, 100, {done, <<"hello0123456789">>, <<"NEXT">>}},
        {"chunked upper and lower hex", <<"a\r\n0123456789\r\nB\r\n0123456789A\r\n0\r\n\r\n">>, chunked, 100,
            {done, <<"01234567890123456789A">>, <<>>}},
        {"chunked bare LF", <<"3\nabc\n0\n\n">>, chunked, 100, {done, <<"abc">>, <<>>}},
        {"chunked leading zeros", <<"0003\r\nabc\r\n000\r\n\r\n">>, chunked, 100, {done, <<"abc">>, <<>>}},
        {"chunked at max", <<"5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n">>, chunked, 10,
            {done, <<"0123456789">>, <<>>}},
        {"chunked one past max", <<"5\r\n01234\r\n6\r\n56789A\r\n0\r\n\r\n">>, chunked, 10, {error, 413}},
        {"chunked bad size", <<"zz\r\nabc\r\n0\r\n\r\n">>, chunked, 100, {error, 400}},
        {"chunked empty size", <<"\r\nabc\r\n0\r\n\r\n">>, chunked, 100, {error, 400}},
        {"chunked negative size", <<"-1\r\nabc\r\n0\r\n\r\n">>, chunked, 100, {error, 400}},
        {"chunked size too many digits", <<"000000001\r\na\r\n0\r\n\r\n">>, chunked, 100, {error, 400}},
        {"chunked garbage after size", <<"3x\r\nabc\r\n0\r\n\r\n">>, chunked, 100, {error, 400}},
        {"chunked missing CRLF after data", <<"3\r\nabcd\r\n0\r\n\r\n">>, chunked, 100, {error, 400}},
        {"chunked size line too long", <<"1;", (long(300, $e))/binary, "\r\na\r\n0\r\n\r\n">>, chunked, 100,
            {error, 400}},
        {"chunked bad trailer", <<"0\r\nno colon here\r\n\r\n">>, chunked, 100, {error, 400}},
        {"chunked trailer section too large",
            <<"0\r\n", (iolist_to_binary([<<"X: ", (long(95, $t))/binary, "\r\n">> || _ <- lists:seq(1, 42)]))/binary,
                "\r\n">>,
            chunked, 100, {error, 400}}
    ].

body_test_() ->
    [
        {Name, fun() -> [{How, ok} = {How, run_body(Pieces, Spec, Max, Expect)} || {How, Pieces} <- feedings(Input)] end}
     || {Name, Input, Spec, Max, Expect} <- body_cases()
    ].

run_body(Pieces, Spec, Max, Expect) ->
    ?assertEqual(Expect, feed_body(Pieces, Spec, Max)),
    ok.

body_incomplete_test() ->
    ?assertEqual({more, <<"hel">>}, feed_body([<<"hel">>], {length, 5}, 10)),
    ?assertEqual({more, <<"hel">>}, feed_body([<<"5\r\nhel">>], chunked, 10)),
    ?assertEqual({more, <<"hello">>}, feed_body([<<"5\r\nhello\r\n0\r\n">>], chunked, 10)),
    ?assertEqual({more, <<>>}, feed_body([<<>>], chunked, 10)).

body_length_chunks_are_sub_binaries_test() ->
    %% Content-Length pieces come back as they were given: no copies of the input.
    S = httpd_parse:body_init({length, 6}, 100),
    {more, <<"abc">>, S2} = httpd_parse:body(<<"abc">>, S),
    ?assertEqual({done, <<"def">>, <<"g">>}, httpd_parse:body(<<"defg">>, S2)).

%% ---------------------------------------------------------------------------------------------
%% Query strings and percent-encoding
%% ---------------------------------------------------------------------------------------------

decode_query_test_() ->
    Cases = [
        {<<>>, []},
        {<<"a=1">>, [{<<"a">>, <<"1">>}]},
        {<<"a=1&b=2&a=3">>, [{<<"a">>, <<"1">>}, {<<"b">>, <<"2">>}, {<<"a">>, <<"3">>}]},
        {<<"k">>, [{<<"k">>, <<>>}]},
        {<<"&&k=&">>, [{<<"k">>, <<>>}]},
        {<<"a+b=c+d">>, [{<<"a b">>, <<"c d">>}]},
        {<<"x=%41%42%2b">>, [{<<"x">>, <<"AB+">>}]},
        {<<"x=1=2">>, [{<<"x">>, <<"1=2">>}]},
        {<<"bad=%zz&ok=1">>, [{<<"bad">>, <<"%zz">>}, {<<"ok">>, <<"1">>}]},
        {<<"bad=%4">>, [{<<"bad">>, <<"%4">>}]},
        {<<"sp=a+%2B+b">>, [{<<"sp">>, <<"a + b">>}]}
    ],
    [?_assertEqual(Out, httpd_parse:decode_query(In)) || {In, Out} <- Cases].

percent_decode_test_() ->
    Cases = [
        {<<>>, {ok, <<>>}},
        {<<"plain">>, {ok, <<"plain">>}},
        {<<"%20">>, {ok, <<" ">>}},
        {<<"a%2fb%2Fc">>, {ok, <<"a/b/c">>}},
        {<<"%e2%82%ac">>, {ok, <<226, 130, 172>>}},
        {<<"100%">>, error},
        {<<"%g0">>, error},
        {<<"%0">>, error},
        {<<"a+b">>, {ok, <<"a+b">>}}
    ],
    [?_assertEqual(Out, httpd_parse:percent_decode(In)) || {In, Out} <- Cases].

%% The common case returns sub-binaries of the input: no '%' means the path is the raw path itself.
percent_decode_no_copy_test() ->
    B = <<"/no/escapes/here">>,
    {ok, D} = httpd_parse:percent_decode(B),
    ?assert(erts_debug:same(B, D)).

%% ---------------------------------------------------------------------------------------------
%% Robustness: mutated requests and bodies never crash the parser; every answer has the API's shape
%% ---------------------------------------------------------------------------------------------

mutate(Bin, X0, 0) ->
    {Bin, X0};
mutate(Bin, X0, K) ->
    X = next(X0),
    Pos = (X bsr 8) rem (byte_size(Bin) + 1),
    <<Pre:Pos/binary, Post/binary>> = Bin,
    Byte = lists:nth(1 + (X bsr 4) rem 12, [0, $\r, $\n, $\s, $:, $%, $?, $/, $\t, 127, 255, $a]),
    Mut =
        case (X bsr 20) rem 3 of
            0 -> <<Pre/binary, Byte, Post/binary>>;
            1 when Post =/= <<>> -> <<Pre/binary, Byte, (binary:part(Post, 1, byte_size(Post) - 1))/binary>>;
            _ when Post =/= <<>> -> <<Pre/binary, (binary:part(Post, 1, byte_size(Post) - 1))/binary>>;
            _ -> <<Pre/binary, Byte>>
        end,
    mutate(Mut, X, K - 1).

next(X) -> (1103515245 * X + 12345) band 16#7FFFFFFF.

request_shape(more) -> ok;
request_shape({request, #{method := M, path := P, headers := H}, R}) when
    is_binary(M), is_binary(P), is_list(H), is_binary(R)
->
    ok;
request_shape({error, S}) when S =:= 400; S =:= 413; S =:= 414; S =:= 431; S =:= 501; S =:= 505 -> ok.

fuzz_request_test() ->
    Base = [
        <<"GET /a%20b?x=1 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n">>,
        <<"POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nabc">>,
        <<"PUT / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n">>
    ],
    Limits = #{max_request_line => 40, max_header_bytes => 80, max_headers => 4, max_body => 10},
    lists:foreach(
        fun(Seed) ->
            {In, _} = mutate(lists:nth(1 + Seed rem 3, Base), Seed, 1 + Seed rem 4),
            [ok = request_shape(feed_request(Pieces, Limits)) || {_, Pieces} <- [{w, [In]}, {s, splits(In, Seed)}]]
        end,
        lists:seq(1, 3000)
    ).

fuzz_chunked_body_test() ->
    Base = <<"5;e=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nT: v\r\n\r\nNEXT">>,
    lists:foreach(
        fun(Seed) ->
            {In, _} = mutate(Base, Seed, 1 + Seed rem 3),
            case feed_body(splits(In, Seed), chunked, 12) of
                {done, D, R} when is_binary(D), is_binary(R) -> ok;
                {more, D} when is_binary(D) -> ok;
                {error, S} when S =:= 400; S =:= 413 -> ok
            end
        end,
        lists:seq(1, 3000)
    ).
