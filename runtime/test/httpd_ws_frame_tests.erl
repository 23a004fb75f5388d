%% @doc EUnit tables for httpd_ws_frame (pure): framing, lengths at every boundary, masking, fragmentation,
%% UTF-8 split anywhere, close codes, limits and the opening handshake. Every stream is fed whole, byte by
%% byte and in uneven splits, and must give the same result.
-module(httpd_ws_frame_tests).
-include_lib("eunit/include/eunit.hrl").

-define(KEY, <<16#37, 16#FA, 16#21, 16#3D>>).

%% A masked client frame.
cf(Fin, Op, Payload) -> iolist_to_binary(httpd_ws_frame:encode(Fin, 0, Op, ?KEY, Payload)).
cf(Op, Payload) -> cf(true, Op, Payload).

%% Feeds Bin in pieces given by Sizes (cycled); collects events until the end or an error.
feed(Bin, Sizes, Max) -> feed(Bin, Sizes, Sizes, httpd_ws_frame:new(#{max_message => Max}), []).

feed(<<>>, _, _, _P, Acc) -> {ok, Acc};
feed(Bin, [], All, P, Acc) -> feed(Bin, All, All, P, Acc);
feed(Bin, [N | Ns], All, P, Acc) ->
    Take = min(N, byte_size(Bin)),
    <<Chunk:Take/binary, Rest/binary>> = Bin,
    case httpd_ws_frame:parse(Chunk, P) of
        {ok, Evs, P1} -> feed(Rest, Ns, All, P1, Acc ++ Evs);
        {error, Evs, Code, _Why} -> {error, Acc ++ Evs, Code}
    end.

%% The same result whole, byte by byte, and in uneven splits.
all_ways(Bin, Max) ->
    Whole = feed(Bin, [byte_size(Bin) + 1], Max),
    ?assertEqual(Whole, feed(Bin, [1], Max)),
    ?assertEqual(Whole, feed(Bin, [3, 7, 1, 130, 2], Max)),
    ?assertEqual(Whole, feed(Bin, [65537, 5], Max)),
    Whole.

events(Bin) -> all_ways(Bin, 1 bsl 20).

payload(N) -> binary:part(binary:copy(<<"abcdefghij">>, N div 10 + 1), 0, N).

%% --- lengths: 7-bit, 16-bit and 64-bit encodings and their boundaries ---------------------------------------

lengths_test_() ->
    [{integer_to_list(N), fun() ->
        P = payload(N),
        Frame = cf(2, P),
        ExpectedHead = if N < 126 -> 6; N < 65536 -> 8; true -> 14 end,
        ?assertEqual(ExpectedHead + N, byte_size(Frame)),
        ?assertEqual({ok, [{binary, P}]}, events(Frame)),
        %% the server's own frames use the same boundaries, unmasked
        Out = iolist_to_binary(httpd_ws_frame:serialize({binary, P})),
        ?assertEqual(ExpectedHead - 4 + N, byte_size(Out))
     end} || N <- [0, 1, 125, 126, 127, 65535, 65536, 65537]].

serialize_header_bytes_test() ->
    ?assertEqual(<<16#81, 5, "hello">>, iolist_to_binary(httpd_ws_frame:serialize({text, <<"hello">>}))),
    ?assertEqual(<<16#82, 126, 0, 126>>, head(httpd_ws_frame:serialize({binary, payload(126)}), 4)),
    ?assertEqual(<<16#82, 126, 255, 255>>, head(httpd_ws_frame:serialize({binary, payload(65535)}), 4)),
    ?assertEqual(<<16#82, 127, 0, 0, 0, 0, 0, 1, 0, 0>>,
                 head(httpd_ws_frame:serialize({binary, payload(65536)}), 10)),
    ?assertEqual(<<16#89, 0>>, iolist_to_binary(httpd_ws_frame:serialize(ping))),
    ?assertEqual(<<16#8A, 2, "hi">>, iolist_to_binary(httpd_ws_frame:serialize({pong, <<"hi">>}))),
    ?assertEqual(<<16#88, 0>>, iolist_to_binary(httpd_ws_frame:serialize(close))),
    ?assertEqual(<<16#88, 4, 1000:16, "ok">>, iolist_to_binary(httpd_ws_frame:serialize({close, 1000, <<"ok">>}))),
    ?assertEqual(<<16#88, 2, 4000:16>>, iolist_to_binary(httpd_ws_frame:serialize({close, 4000}))).

serialize_rejects_bad_frames_test() ->
    ?assertError(badarg, httpd_ws_frame:serialize({ping, payload(126)})),
    ?assertError(badarg, httpd_ws_frame:serialize({close, 1000, payload(124)})),
    ?assertError(badarg, httpd_ws_frame:serialize({close, 1005, <<>>})),
    ?assertError(badarg, httpd_ws_frame:serialize({bogus, <<>>})).

head(IoData, N) -> binary:part(iolist_to_binary(IoData), 0, N).

%% --- masking ------------------------------------------------------------------------------------------------

mask_roundtrip_test_() ->
    Keys = [<<0, 0, 0, 0>>, <<255, 255, 255, 255>>, <<1, 2, 3, 4>>, ?KEY],
    [fun() ->
        D = payload(N),
        M = httpd_ws_frame:mask(D, K, 0),
        ?assertEqual(D, httpd_ws_frame:mask(M, K, 0)),
        ?assertEqual(byte_size(D), byte_size(M)),
        %% byte i is XORed with key byte i mod 4 (RFC 6455 5.3)
        ?assertEqual(M, list_to_binary([B bxor binary:at(K, I rem 4) || {I, B} <- lists:zip(lists:seq(0, N - 1), binary_to_list(D))]))
     end || K <- Keys, N <- [0, 1, 2, 3, 4, 5, 7, 8, 33]].

mask_offset_test() ->
    %% unmasking in pieces at any offset equals unmasking at once
    D = payload(41),
    Whole = httpd_ws_frame:mask(D, ?KEY, 0),
    [begin
         <<A:Cut/binary, B/binary>> = D,
         ?assertEqual(Whole, <<(httpd_ws_frame:mask(A, ?KEY, 0))/binary,
                               (httpd_ws_frame:mask(B, ?KEY, Cut band 3))/binary>>)
     end || Cut <- lists:seq(0, 41)].

unmasked_client_frame_test() ->
    Bin = iolist_to_binary(httpd_ws_frame:encode(true, 0, 1, none, <<"hi">>)),
    ?assertEqual({error, [], 1002}, events(Bin)).

different_masks_per_frame_test() ->
    F1 = iolist_to_binary(httpd_ws_frame:encode(true, 0, 1, <<9, 8, 7, 6>>, <<"one">>)),
    F2 = iolist_to_binary(httpd_ws_frame:encode(true, 0, 1, <<1, 1, 1, 1>>, <<"two">>)),
    ?assertEqual({ok, [{text, <<"one">>}, {text, <<"two">>}]}, events(<<F1/binary, F2/binary>>)).

%% --- fragmentation and interleaved control frames -------------------------------------------------------

fragments_test() ->
    Bin = iolist_to_binary([cf(false, 1, <<"frag">>), cf(false, 0, <<"men">>), cf(true, 0, <<"ted">>)]),
    ?assertEqual({ok, [{text, <<"fragmented">>}]}, events(Bin)).

fragments_with_empty_pieces_test() ->
    Bin = iolist_to_binary([cf(false, 2, <<>>), cf(false, 0, <<>>), cf(true, 0, <<>>)]),
    ?assertEqual({ok, [{binary, <<>>}]}, events(Bin)).

control_between_fragments_test() ->
    Bin = iolist_to_binary([cf(false, 1, <<"a">>), cf(9, <<"p1">>), cf(false, 0, <<"b">>),
                            cf(10, <<"x">>), cf(true, 0, <<"c">>), cf(9, <<>>)]),
    ?assertEqual({ok, [{ping, <<"p1">>}, {pong, <<"x">>}, {text, <<"abc">>}, {ping, <<>>}]}, events(Bin)).

bad_continuation_test_() ->
    Cases = [
        {"continuation first", [cf(true, 0, <<"x">>)], []},
        {"continuation after complete", [cf(1, <<"a">>), cf(true, 0, <<"x">>)], [{text, <<"a">>}]},
        {"text inside fragmented", [cf(false, 1, <<"a">>), cf(true, 1, <<"b">>)], []},
        {"binary inside fragmented", [cf(false, 2, <<"a">>), cf(false, 2, <<"b">>)], []},
        {"fragmented ping", [cf(false, 9, <<"a">>)], []},
        {"fragmented close", [cf(false, 8, <<>>)], []}
    ],
    [{Name, fun() -> ?assertEqual({error, Evs, 1002}, events(iolist_to_binary(Frames))) end}
     || {Name, Frames, Evs} <- Cases].

%% --- reserved bits and opcodes ------------------------------------------------------------------------------

reserved_bits_test_() ->
    [fun() ->
        Bin = iolist_to_binary(httpd_ws_frame:encode(true, Rsv, Op, ?KEY, <<"x">>)),
        ?assertEqual({error, [], 1002}, events(Bin))
     end || Rsv <- lists:seq(1, 7), Op <- [1, 2, 9]].

reserved_opcodes_test_() ->
    [fun() ->
        Bin = iolist_to_binary([cf(1, <<"ok">>), cf(Op, <<"x">>), cf(1, <<"never">>)]),
        ?assertEqual({error, [{text, <<"ok">>}], 1002}, events(Bin))
     end || Op <- [3, 4, 5, 6, 7, 11, 12, 13, 14, 15]].

%% --- control frame size -------------------------------------------------------------------------------------

control_sizes_test() ->
    ?assertEqual({ok, [{ping, payload(125)}]}, events(cf(9, payload(125)))),
    ?assertEqual({error, [], 1002}, events(cf(9, payload(126)))),
    ?assertEqual({error, [], 1002}, events(cf(10, payload(126)))),
    %% a 125-byte close body is fine: code + 123 bytes of reason
    ?assertEqual({ok, [{close, 1000, payload(123)}]}, events(cf(8, [<<1000:16>>, payload(123)]))).

%% --- message limit (checked on the declared length) --------------------------------------------------------

limit_test() ->
    ?assertEqual({ok, [{binary, payload(100)}]}, all_ways(cf(2, payload(100)), 100)),
    ?assertEqual({error, [], 1009}, all_ways(cf(2, payload(101)), 100)),
    %% fragments adding up past the limit
    Frags = iolist_to_binary([cf(false, 1, payload(60)), cf(false, 0, payload(40)), cf(true, 0, <<"x">>)]),
    ?assertEqual({error, [], 1009}, all_ways(Frags, 100)),
    ?assertEqual({ok, [{text, <<(payload(60))/binary, (payload(40))/binary, "x">>}]}, all_ways(Frags, 101)).

%% --- closing: after our close frame, data is skipped and the client's close frame found -----------------

%% Feeds Bin to a closing parser made from P in the given chunk sizes; the events seen.
closing_events(Bin, Sizes, P) ->
    feed_closing(Bin, Sizes, httpd_ws_frame:closing(P), []).

feed_closing(<<>>, _, _, Acc) -> Acc;
feed_closing(Bin, [N | Ns], P, Acc) ->
    Take = min(N, byte_size(Bin)),
    <<Chunk:Take/binary, Rest/binary>> = Bin,
    {ok, Evs, P1} = httpd_ws_frame:parse(Chunk, P),
    feed_closing(Rest, Ns ++ [N], P1, Acc ++ Evs).

closing_skips_a_refused_message_test() ->
    %% the refused frame (far over the limit) is read again from the parser before it: its payload is
    %% skipped by its declared length and the close frame right behind it is found, however split
    Big = cf(2, payload(5000)),
    Close = cf(8, <<1009:16>>),
    P = httpd_ws_frame:new(#{max_message => 100}),
    ?assertMatch({error, [], 1009, _}, httpd_ws_frame:parse(Big, P)),
    [?assertEqual([{close, 1009, <<>>}], closing_events(<<Big/binary, Close/binary>>, Sizes, P))
     || Sizes <- [[1 bsl 20], [1], [3, 7, 1, 130, 2], [4999, 5]]].

closing_passes_fragments_and_keeps_control_frames_test() ->
    Bin = iolist_to_binary([cf(false, 1, payload(300)), cf(9, <<"p">>), cf(true, 0, payload(300)),
                            cf(2, payload(70000)), cf(8, <<1000:16>>)]),
    P = httpd_ws_frame:new(#{max_message => 10}),
    [?assertEqual([{ping, <<"p">>}, {close, 1000, <<>>}], closing_events(Bin, Sizes, P))
     || Sizes <- [[1 bsl 20], [1], [3, 7, 1, 130, 2]]].

closing_keeps_the_frame_rules_test() ->
    %% skipping payloads is no licence for a continuation without a message
    P = httpd_ws_frame:closing(httpd_ws_frame:new(#{max_message => 10})),
    ?assertMatch({error, [], 1002, _}, httpd_ws_frame:parse(cf(true, 0, <<"x">>), P)).

declared_length_checked_before_payload_test() ->
    %% only the header of a 2^40-byte frame is sent: the error comes at once, nothing is buffered
    Head = <<16#82, (128 + 127), (1 bsl 40):64, 1, 2, 3, 4>>,
    P = httpd_ws_frame:new(#{max_message => 1 bsl 20}),
    ?assertMatch({error, [], 1009, _}, httpd_ws_frame:parse(Head, P)).

length_msb_test() ->
    Head = <<16#82, (128 + 127), 1:1, 0:63, 1, 2, 3, 4>>,
    ?assertMatch({error, [], 1002, _}, httpd_ws_frame:parse(Head, httpd_ws_frame:new(#{}))).

%% --- UTF-8 --------------------------------------------------------------------------------------------------

valid_utf8() ->
    [<<>>, <<"hello">>, <<"κόσμε"/utf8>>, <<16#7F>>, <<16#C2, 16#80>>, <<16#DF, 16#BF>>,
     <<16#E0, 16#A0, 16#80>>, <<16#ED, 16#9F, 16#BF>>, <<16#EE, 16#80, 16#80>>, <<16#EF, 16#BF, 16#BF>>,
     <<16#F0, 16#90, 16#80, 16#80>>, <<16#F4, 16#8F, 16#BF, 16#BF>>, <<"Hello-µ@ßöäüàá-UTF-8!!"/utf8>>,
     <<"a€b𝄞c"/utf8>>].

invalid_utf8() ->
    [<<16#80>>, <<16#BF>>, <<16#C0, 16#80>>, <<16#C1, 16#BF>>, <<16#E0, 16#80, 16#80>>,
     <<16#E0, 16#9F, 16#BF>>, <<16#ED, 16#A0, 16#80>>, <<16#ED, 16#BF, 16#BF>>,
     <<16#F0, 16#80, 16#80, 16#80>>, <<16#F0, 16#8F, 16#BF, 16#BF>>, <<16#F4, 16#90, 16#80, 16#80>>,
     <<16#F5, 16#80, 16#80, 16#80>>, <<16#FE>>, <<16#FF>>, <<"ok", 16#C2>>, <<16#E2, 16#82>>,
     <<16#CE, 16#BA, 16#E1, 16#BD, 16#B9, 16#CF, 16#83, 16#CE, 16#BC, 16#CE, 16#B5, 16#ED, 16#A0, 16#80, 16#65, 16#64, 16#69, 16#74, 16#65, 16#64>>].

utf8_whole_test_() ->
    [fun() -> ?assertEqual({ok, [{text, T}]}, events(cf(1, T))) end || T <- valid_utf8()] ++
    [fun() -> ?assertEqual({error, [], 1007}, events(cf(1, T))) end || T <- invalid_utf8()].

%% Split into two fragments at every byte position, inside code points included.
utf8_fragment_splits_test() ->
    [begin
         <<A:Cut/binary, B/binary>> = T,
         Bin = iolist_to_binary([cf(false, 1, A), cf(9, <<>>), cf(true, 0, B)]),
         ?assertEqual({ok, [{ping, <<>>}, {text, T}]}, events(Bin))
     end || T <- valid_utf8(), Cut <- lists:seq(0, byte_size(T))],
    [begin
         <<A:Cut/binary, B/binary>> = T,
         Bin = iolist_to_binary([cf(false, 1, A), cf(true, 0, B)]),
         ?assertMatch({error, _, 1007}, events(Bin))
     end || T <- invalid_utf8(), Cut <- lists:seq(0, byte_size(T))].

%% The incremental validator agrees with OTP's for every 1-3 byte split point of many sequences.
utf8_incremental_vs_otp_test() ->
    Seqs = valid_utf8() ++ invalid_utf8() ++ [<<X, Y>> || X <- lists:seq(16#C0, 16#F5, 3), Y <- [16#7F, 16#80, 16#BF, 16#C0]],
    [begin
         Otp = case unicode:characters_to_binary(T, utf8, utf8) of Bin when is_binary(Bin) -> ok; _ -> error end,
         <<A:Cut/binary, B/binary>> = T,
         Ours = case httpd_ws_frame:utf8(A, httpd_ws_frame:utf8_init()) of
                    {ok, S} ->
                        case httpd_ws_frame:utf8(B, S) of
                            {ok, S2} -> case httpd_ws_frame:utf8_done(S2) of true -> ok; false -> error end;
                            error -> error
                        end;
                    error -> error
                end,
         ?assertEqual({T, Cut, Otp}, {T, Cut, Ours})
     end || T <- Seqs, Cut <- lists:seq(0, byte_size(T))].

utf8_fails_fast_test() ->
    %% the bad byte is reported before the message (whose final fragment never comes) is complete
    P = httpd_ws_frame:new(#{}),
    ?assertMatch({error, [], 1007, _}, httpd_ws_frame:parse(cf(false, 1, <<"abc", 16#C0, "d">>), P)),
    ?assertMatch({error, [], 1007, _}, httpd_ws_frame:parse(cf(false, 1, <<16#ED, 16#A0>>), P)).

binary_is_not_validated_test() ->
    ?assertEqual({ok, [{binary, <<16#FF, 16#C0>>}]}, events(cf(2, <<16#FF, 16#C0>>))).

%% --- close frames ------------------------------------------------------------------------------------------

close_codes_test_() ->
    Valid = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999],
    Invalid = [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535],
    [fun() -> ?assertEqual({ok, [{close, C, <<"bye">>}]}, events(cf(8, <<C:16, "bye">>))) end || C <- Valid] ++
    [fun() -> ?assertEqual({error, [], 1002}, events(cf(8, <<C:16>>))) end || C <- Invalid].

close_bodies_test() ->
    ?assertEqual({ok, [{close, none, <<>>}]}, events(cf(8, <<>>))),
    ?assertEqual({error, [], 1002}, events(cf(8, <<3>>))),
    ?assertEqual({error, [], 1007}, events(cf(8, <<1000:16, 16#CE, 16#BA, 16#ED, 16#A0, 16#80>>))),
    ?assertEqual({ok, [{close, 1000, <<"κ"/utf8>>}]}, events(cf(8, <<1000:16, "κ"/utf8>>))).

%% --- the opening handshake ----------------------------------------------------------------------------------

req(Headers) ->
    #{method => <<"GET">>, version => {1, 1}, headers => Headers}.

good_headers() ->
    [{<<"host">>, <<"x">>}, {<<"upgrade">>, <<"websocket">>}, {<<"connection">>, <<"Upgrade">>},
     {<<"sec-websocket-key">>, <<"dGhlIHNhbXBsZSBub25jZQ==">>}, {<<"sec-websocket-version">>, <<"13">>}].

accept_key_rfc_example_test() ->
    %% RFC 6455 1.3
    ?assertEqual(<<"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=">>, httpd_ws_frame:accept_key(<<"dGhlIHNhbXBsZSBub25jZQ==">>)).

handshake_ok_test() ->
    ?assertEqual({ok, <<"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=">>, []}, httpd_ws_frame:handshake(req(good_headers()))),
    ?assertMatch({ok, _, []}, httpd_ws_frame:handshake((req(good_headers()))#{body => none})),
    H = lists:keyreplace(<<"connection">>, 1, good_headers(), {<<"connection">>, <<"keep-alive, UPGRADE">>}),
    H2 = lists:keyreplace(<<"upgrade">>, 1, H, {<<"upgrade">>, <<"WebSocket">>}),
    ?assertEqual({ok, <<"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=">>, [<<"chat">>, <<"superchat">>, <<"v2">>]},
                 httpd_ws_frame:handshake(req(H2 ++ [{<<"sec-websocket-protocol">>, <<"chat, superchat">>},
                                                     {<<"sec-websocket-protocol">>, <<"v2">>}]))).

handshake_errors_test_() ->
    G = good_headers(),
    Without = fun(N) -> lists:keydelete(N, 1, G) end,
    With = fun(N, V) -> lists:keystore(N, 1, G, {N, V}) end,
    Cases = [
        {400, (req(G))#{method => <<"POST">>}},
        {400, (req(G))#{version => {1, 0}}},
        {400, (req(G))#{body => {length, 5}}},
        {400, (req(G))#{body => chunked}},
        {400, req(Without(<<"upgrade">>))},
        {400, req(With(<<"upgrade">>, <<"h2c">>))},
        {400, req(Without(<<"connection">>))},
        {400, req(With(<<"connection">>, <<"keep-alive">>))},
        {400, req(Without(<<"sec-websocket-key">>))},
        {400, req(With(<<"sec-websocket-key">>, <<"short">>))},
        {400, req(With(<<"sec-websocket-key">>, <<"dGhlIHNhbXBsZSBub25jZQ">>))},
        {400, req(With(<<"sec-websocket-key">>, <<"!!!!!!!!!!!!!!!!!!!!!!==">>))},
        {400, req(With(<<"sec-websocket-key">>, <<"dGhlIHNhbXBsZSBub25jZXg=">>))},
        {400, req(G ++ [{<<"sec-websocket-key">>, <<"dGhlIHNhbXBsZSBub25jZQ==">>}])},
        {400, req(Without(<<"sec-websocket-version">>))},
        {426, req(With(<<"sec-websocket-version">>, <<"8">>))},
        {426, req(With(<<"sec-websocket-version">>, <<"14">>))}
    ],
    [fun() -> ?assertMatch({error, Status, _}, httpd_ws_frame:handshake(R)) end || {Status, R} <- Cases].
