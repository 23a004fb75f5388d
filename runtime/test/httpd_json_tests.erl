%% @doc EUnit tests for httpd_json (pure): decode/encode tables, bounds, error positions, and
%% encode→decode round trips of pseudo-random terms from fixed seeds.
-module(httpd_json_tests).

-include_lib("eunit/include/eunit.hrl").

enc(T) -> iolist_to_binary(httpd_json:encode(T)).

decode_ok_test_() ->
    Cases = [
        {<<"0">>, 0},
        {<<"-0">>, 0},
        {<<" 42 ">>, 42},
        {<<"-17">>, -17},
        {<<"123456789012345678901234567890">>, 123456789012345678901234567890},
        {<<"1.5">>, 1.5},
        {<<"-0.25">>, -0.25},
        {<<"1e3">>, 1.0e3},
        {<<"1E+3">>, 1.0e3},
        {<<"2.5e-3">>, 2.5e-3},
        {<<"true">>, true},
        {<<"false">>, false},
        {<<"null">>, null},
        {<<"\"\"">>, <<>>},
        {<<"\"plain\"">>, <<"plain">>},
        {<<"\"q\\\"b\\\\s\\/n\\nr\\rt\\tb\\bf\\f\"">>, <<"q\"b\\s/n\nr\rt\tb\bf\f">>},
        {<<"\"\\u0041\\u00e9\\u20AC\"">>, <<"A", 16#C3, 16#A9, 16#E2, 16#82, 16#AC>>},
        {<<"\"\\ud83d\\ude00\"">>, <<16#F0, 16#9F, 16#98, 16#80>>},
        {<<"\"caf", 16#C3, 16#A9, "\"">>, <<"caf", 16#C3, 16#A9>>},
        {<<"[]">>, []},
        {<<"[ 1 , [2, []] ,\"x\" ]">>, [1, [2, []], <<"x">>]},
        {<<"{}">>, #{}},
        {<<"{\"a\":1,\"b\":{\"c\":[true,null]}}">>, #{<<"a">> => 1, <<"b">> => #{<<"c">> => [true, null]}}},
        {<<"\t\r\n{ \"k\" : \"v\" }\n">>, #{<<"k">> => <<"v">>}},
        %% the last of duplicate keys wins
        {<<"{\"a\":1,\"a\":2}">>, #{<<"a">> => 2}}
    ],
    [?_assertEqual({In, {ok, Out}}, {In, httpd_json:decode(In)}) || {In, Out} <- Cases].

decode_error_test_() ->
    Cases = [
        {<<>>, <<"unexpected end of input at byte 0">>},
        {<<"   ">>, <<"unexpected end of input at byte 3">>},
        {<<"nul">>, <<"unexpected character at byte 0">>},
        {<<"[1,]">>, <<"unexpected character at byte 3">>},
        {<<"[1 2]">>, <<"expected , or ] at byte 3">>},
        {<<"[1">>, <<"unexpected end of input at byte 2">>},
        {<<"{\"a\" 1}">>, <<"expected : at byte 5">>},
        {<<"{\"a\":1,}">>, <<"expected a string key at byte 7">>},
        {<<"{a:1}">>, <<"expected a string key at byte 1">>},
        {<<"{\"a\":1">>, <<"unexpected end of input at byte 6">>},
        {<<"{\"a\":1 \"b\":2}">>, <<"expected , or } at byte 7">>},
        {<<"\"abc">>, <<"unterminated string at byte 4">>},
        {<<"\"abc\\">>, <<"unterminated string at byte 5">>},
        {<<"\"a\nb\"">>, <<"control character in string at byte 2">>},
        {<<"\"a\\qb\"">>, <<"bad escape at byte 2">>},
        {<<"\"\\u12G4\"">>, <<"bad \\u escape at byte 1">>},
        {<<"\"\\ud83d\"">>, <<"lone surrogate at byte 7">>},
        {<<"\"\\ude00\"">>, <<"lone surrogate at byte 7">>},
        {<<"\"\\ud83d\\u0041\"">>, <<"bad surrogate pair at byte 7">>},
        {<<"\"", 16#FF, "\"">>, <<"invalid UTF-8 in string at byte 1">>},
        {<<"01">>, <<"unexpected data after the value at byte 1">>},
        {<<"-">>, <<"bad number at byte 0">>},
        {<<"1.">>, <<"bad number at byte 0">>},
        {<<"1.e5">>, <<"bad number at byte 0">>},
        {<<"1e">>, <<"bad number at byte 0">>},
        {<<"+1">>, <<"unexpected character at byte 0">>},
        {<<".5">>, <<"unexpected character at byte 0">>},
        {<<"1e999">>, <<"number out of range at byte 0">>},
        {<<"[", (binary:copy(<<"9">>, 65))/binary, "]">>, <<"number too long at byte 1">>},
        {<<"true false">>, <<"unexpected data after the value at byte 5">>},
        {<<"[]]">>, <<"unexpected data after the value at byte 2">>}
    ],
    [?_assertEqual({In, {error, Reason}}, {In, httpd_json:decode(In)}) || {In, Reason} <- Cases] ++
        [?_assertEqual({error, <<"not a binary">>}, httpd_json:decode("[]"))].

depth_limit_test_() ->
    Nest = fun(N) -> <<(binary:copy(<<"[">>, N))/binary, (binary:copy(<<"]">>, N))/binary>> end,
    NestObj = fun(N) ->
        <<(binary:copy(<<"{\"a\":">>, N - 1))/binary, "{}", (binary:copy(<<"}">>, N - 1))/binary>>
    end,
    [
        ?_assertMatch({ok, _}, httpd_json:decode(Nest(64))),
        ?_assertEqual({error, <<"nesting too deep at byte 64">>}, httpd_json:decode(Nest(65))),
        ?_assertMatch({ok, _}, httpd_json:decode(NestObj(64))),
        ?_assertMatch({error, <<"nesting too deep", _/binary>>}, httpd_json:decode(NestObj(65))),
        %% a deep attack does not blow up: it stops at the bound
        ?_assertMatch({error, <<"nesting too deep", _/binary>>}, httpd_json:decode(binary:copy(<<"[">>, 100000)))
    ].

encode_test_() ->
    Cases = [
        {true, <<"true">>},
        {false, <<"false">>},
        {null, <<"null">>},
        {0, <<"0">>},
        {-12, <<"-12">>},
        {1.5, <<"1.5">>},
        {0.1, <<"0.1">>},
        {-2.0e-7, <<"-2.0e-7">>},
        {<<>>, <<"\"\"">>},
        {<<"a\"b\\c/">>, <<"\"a\\\"b\\\\c/\"">>},
        {<<"\n\r\t\b\f", 0, 31, 127>>, <<"\"\\n\\r\\t\\b\\f\\u0000\\u001f", 127, "\"">>},
        {<<"caf", 16#C3, 16#A9>>, <<"\"caf", 16#C3, 16#A9, "\"">>},
        {ok, <<"\"ok\"">>},
        {[], <<"[]">>},
        {[1, [2], #{}], <<"[1,[2],{}]">>},
        {#{}, <<"{}">>},
        {#{a => 1}, <<"{\"a\":1}">>},
        {#{<<"k\"">> => [null]}, <<"{\"k\\\"\":[null]}">>}
    ],
    [?_assertEqual({In, Out}, {In, enc(In)}) || {In, Out} <- Cases].

encode_error_test_() ->
    [
        ?_assertError({json_encode, {1, 2}}, httpd_json:encode({1, 2})),
        ?_assertError({json_encode, {1, 2}}, httpd_json:encode([{1, 2}])),
        ?_assertError({json_encode, 1}, httpd_json:encode(#{1 => 2})),
        ?_assertError({json_encode, <<255>>}, httpd_json:encode(<<255>>)),
        ?_assertError({json_encode, <<"a", 16#C3>>}, httpd_json:encode([<<"a", 16#C3>>])),
        ?_assertError({json_encode, tail}, httpd_json:encode([1 | tail])),
        ?_assertError({json_encode, _}, httpd_json:encode(self()))
    ].

%% Pseudo-random JSON terms from a small LCG; encode then decode must give the term back
%% (maps with binary keys; floats exact).
round_trip_test_() ->
    [?_test(round_trip(Seed)) || Seed <- lists:seq(1, 40)].

round_trip(Seed) ->
    {T, _} = gen_map(next(Seed), 4, 3 + Seed rem 4, #{}),
    ?assertEqual({ok, T}, httpd_json:decode(enc(T))).

next(X) -> (1103515245 * X + 12345) band 16#7FFFFFFF.

%% the high bits of the LCG state (its low bits have short periods)
hi(X) -> X bsr 12.

gen(X0, Depth) ->
    X = next(X0),
    Kind =
        case Depth of
            0 -> hi(X) rem 6;
            _ -> hi(X) rem 8
        end,
    case Kind of
        0 -> {hi(X) rem 2 =:= 0, X};
        1 -> {null, X};
        2 -> {(X rem 2000001) - 1000000, X};
        3 -> {((X rem 100000) - 50000) / 7.0 * math:pow(10, (hi(X) rem 30) - 15), X};
        4 -> gen_string(X);
        5 -> {(hi(X) rem 3 - 1) * X * X * X, X};
        6 -> gen_list(X, Depth - 1, hi(X) rem 5, []);
        7 -> gen_map(X, Depth - 1, hi(X) rem 5, #{})
    end.

gen_string(X) ->
    Alphabet = [$a, $", $\\, $\n, 0, 31, $/, 16#E9, 16#20AC, 16#1F600, $\s, $z],
    N = hi(X) rem 9,
    {Chars, X2} = lists:foldl(
        fun(_, {Acc, Xi}) ->
            Xn = next(Xi),
            {[lists:nth(1 + hi(Xn) rem length(Alphabet), Alphabet) | Acc], Xn}
        end,
        {[], X},
        lists:seq(1, N)
    ),
    {unicode:characters_to_binary(Chars), X2}.

gen_list(X, _D, 0, Acc) -> {lists:reverse(Acc), X};
gen_list(X, D, N, Acc) ->
    {V, X2} = gen(X, D),
    gen_list(X2, D, N - 1, [V | Acc]).

gen_map(X, _D, 0, Acc) -> {Acc, X};
gen_map(X, D, N, Acc) ->
    {K, X2} = gen_string(X),
    {V, X3} = gen(X2, D),
    gen_map(X3, D, N - 1, Acc#{K => V}).

%% Mutated JSON texts never crash the decoder: every answer is {ok, _} or {error, Reason}.
fuzz_decode_test() ->
    lists:foreach(
        fun(Seed) ->
            {T, X} = gen_map(next(Seed), 3, 2 + Seed rem 3, #{}),
            In = mutate(enc(T), X, 1 + Seed rem 3),
            case httpd_json:decode(In) of
                {ok, _} -> ok;
                {error, R} when is_binary(R) -> ok
            end
        end,
        lists:seq(1, 2000)
    ).

mutate(Bin, _X, 0) ->
    Bin;
mutate(Bin, X0, K) ->
    X = next(X0),
    Pos = hi(X) rem (byte_size(Bin) + 1),
    <<Pre:Pos/binary, Post/binary>> = Bin,
    Byte = lists:nth(1 + (X bsr 4) rem 12, [${, $}, $[, $], $", $\\, $,, $:, $e, $-, 0, 255]),
    Mut =
        case {(X bsr 20) rem 2, Post} of
            {0, _} -> <<Pre/binary, Byte, Post/binary>>;
            {1, <<_, P/binary>>} -> <<Pre/binary, P/binary>>;
            {1, <<>>} -> Pre
        end,
    mutate(Mut, X, K - 1).
