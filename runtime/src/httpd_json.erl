%% @doc Pure. JSON (RFC 8259) encoder and decoder for handler payloads (OTP 25 has no json module;
%% AtomVM's differs from OTP's, so the runtime carries its own).
%%
%% Terms: maps (keys binary or atom when encoding; always binary when decoding), lists (arrays),
%% binaries (UTF-8 strings), integers, floats, `true', `false', `null'. Other atoms encode as strings.
%% Decoding is bounded: nesting depth at most 64, number literals at most 64 bytes; errors say what and at
%% which byte offset. No atoms are created from input. A decoded string without escapes is a sub-binary of
%% the input (no copy): `binary:copy/1' it before keeping it long, or it keeps the whole input alive.
-module(httpd_json).

-export([encode/1, decode/1]).
-export_type([json/0]).

-type json() ::
    #{binary() | atom() => json()} | [json()] | binary() | integer() | float() | true | false | null | atom().

-define(MAX_DEPTH, 64).
-define(MAX_NUMBER, 64).

%% The one-character escapes (RFC 8259 section 7): {the letter after `\', the character}. One literal
%% list, shared by the encoder and the decoder, rather than a clause per escape.
-define(ESCAPES, [{$", $"}, {$\\, $\\}, {$/, $/}, {$b, $\b}, {$f, $\f}, {$n, $\n}, {$r, $\r}, {$t, $\t}]).

%% ---------------------------------------------------------------------------------------------
%% Encoding
%% ---------------------------------------------------------------------------------------------

%% @doc Encodes a term; raises `{json_encode, Term}' on something JSON cannot express (a tuple, a pid,
%% a map key that is not a binary or atom, a binary that is not UTF-8).
-spec encode(json()) -> iodata().
encode(A) when A =:= true; A =:= false; A =:= null ->
    atom_to_binary(A, utf8);
encode(I) when is_integer(I) ->
    integer_to_binary(I);
encode(F) when is_float(F) ->
    %% the shortest representation that reads back as the same float; AtomVM builds without the `short'
    %% option fall back to float_to_binary/1, whose `1.00000000000000000000e+00' form is valid JSON
    try
        float_to_binary(F, [short])
    catch
        error:_ -> float_to_binary(F)
    end;
encode(L) when is_list(L) ->
    sequence(L, $[, $]);
encode(M) when is_map(M) ->
    sequence(maps:to_list(M), ${, $});
encode(Other) ->
    %% binaries and other atoms; string/1 raises on anything else
    string(Other).

%% An array (Close `]') or the members of an object (Close `}').
sequence([], Open, Close) -> [Open, Close];
sequence([H | T], Open, Close) -> [Open, item(H, Close) | rest(T, Close)].

rest([], Close) -> [Close];
rest([H | T], Close) -> [$,, item(H, Close) | rest(T, Close)];
rest(Improper, _Close) -> erlang:error({json_encode, Improper}).

item(V, $]) -> encode(V);
item({K, V}, $}) -> [string(K), $:, encode(V)].

%% A JSON string: `"', `\' and control characters escaped (RFC 8259 section 7); the bytes are checked
%% to be UTF-8. Runs of plain bytes are emitted as sub-binaries of the input.
string(A) when is_atom(A) ->
    string(atom_to_binary(A, utf8));
string(B) ->
    case escape(B, 0, []) of
        error -> erlang:error({json_encode, B});
        Parts -> [$" | Parts]
    end.

%% escape(Rest, RunLength, AccRev): Rest starts with a run of RunLength plain bytes; the parts end in
%% the closing quote (`[.., $"]' in string/1 would end in the constant list `[$"]': a literal, which
%% AtomVM copies into the heap at every use)
escape(B, N, Acc) ->
    case B of
        <<Run:N/binary>> ->
            lists:reverse([$", Run | Acc]);
        <<_:N/binary, C, _/binary>> when C >= 16#20, C < 16#80, C =/= $", C =/= $\\ ->
            escape(B, N + 1, Acc);
        <<Run:N/binary, C, R/binary>> when C < 16#80 ->
            escape(R, 0, [esc(C), Run | Acc]);
        <<_:N/binary, U/utf8, _/binary>> ->
            escape(B, N + utf8_len(U), Acc);
        _ ->
            error
    end.

utf8_len(U) when U < 16#80 -> 1;
utf8_len(U) when U < 16#800 -> 2;
utf8_len(U) when U < 16#10000 -> 3;
utf8_len(_) -> 4.

esc(C) ->
    case lists:keyfind(C, 2, ?ESCAPES) of
        {Letter, _} -> <<$\\, Letter>>;
        %% a control character below 32: \u00XX
        false -> <<"\\u00", ($0 + (C bsr 4)), (hex_digit(C band 15))>>
    end.

hex_digit(D) when D < 10 -> $0 + D;
hex_digit(D) -> $a + D - 10.

%% ---------------------------------------------------------------------------------------------
%% Decoding
%% ---------------------------------------------------------------------------------------------

%% @doc Decodes one JSON text (surrounding whitespace allowed). Objects become maps with binary keys
%% (the last of duplicate keys wins).
-spec decode(binary()) -> {ok, json()} | {error, Reason :: binary()}.
decode(Bin) when is_binary(Bin) ->
    try value(ws(Bin), 0) of
        {V, Rest} ->
            case ws(Rest) of
                <<>> -> {ok, V};
                Trailing -> {error, at(<<"unexpected data after the value">>, Bin, Trailing)}
            end
    catch
        throw:{json, What, Rest} -> {error, at(What, Bin, Rest)}
    end;
decode(_) ->
    {error, <<"not a binary">>}.

at(What, Bin, Rest) ->
    <<What/binary, " at byte ", (integer_to_binary(byte_size(Bin) - byte_size(Rest)))/binary>>.

fail(What, Rest) -> throw({json, What, Rest}).

%% Rest is where What was expected: the end of the input is reported as such.
expected(_What, <<>>) -> fail(<<"unexpected end of input">>, <<>>);
expected(What, Rest) -> fail(What, Rest).

ws(<<C, R/binary>>) when C =:= $\s; C =:= $\t; C =:= $\n; C =:= $\r -> ws(R);
ws(B) -> B.

value(<<C, R/binary>> = B, D) when C =:= $[; C =:= ${ ->
    D < ?MAX_DEPTH orelse fail(<<"nesting too deep">>, B),
    {Close, Empty} = case C of
        $[ -> {$], []};
        _ -> {$}, #{}}
    end,
    case ws(R) of
        <<Close, R2/binary>> -> {Empty, R2};
        R1 -> items(R1, D + 1, Empty, Close)
    end;
value(<<$", R/binary>>, _D) ->
    str(R, 0, []);
value(<<"true", R/binary>>, _D) ->
    {true, R};
value(<<"false", R/binary>>, _D) ->
    {false, R};
value(<<"null", R/binary>>, _D) ->
    {null, R};
value(<<C, _/binary>> = B, _D) when C =:= $-; C >= $0, C =< $9 ->
    number(B);
value(B, _D) ->
    expected(<<"unexpected character">>, B).

%% The elements of an array (Acc a reversed list, Close `]') or the members of an object (Acc a map,
%% Close `}') after the first one's start.
items(B, D, Acc, Close) ->
    {Acc2, R} = item(B, D, Acc, Close),
    case ws(R) of
        <<$,, R2/binary>> -> items(ws(R2), D, Acc2, Close);
        <<Close, R2/binary>> when is_list(Acc2) -> {lists:reverse(Acc2), R2};
        <<Close, R2/binary>> -> {Acc2, R2};
        Other -> expected(<<"expected , or ", Close>>, Other)
    end.

item(B, D, Acc, $]) ->
    {V, R} = value(B, D),
    {[V | Acc], R};
item(<<$", R/binary>>, D, Acc, $}) ->
    {K, R1} = str(R, 0, []),
    case ws(R1) of
        <<$:, R2/binary>> ->
            {V, R3} = value(ws(R2), D),
            {Acc#{K => V}, R3};
        Other ->
            expected(<<"expected :">>, Other)
    end;
item(B, _D, _Acc, $}) ->
    expected(<<"expected a string key">>, B).

%% number = [ minus ] int [ frac ] [ exp ] (RFC 8259 section 6); every error is reported at its start.
number(B) ->
    S = sign(B, 0),
    I = case B of
        <<_:S/binary, $0, _/binary>> -> S + 1;
        _ -> digits1(B, S)
    end,
    F = case B of
        <<_:I/binary, $., _/binary>> -> digits1(B, I + 1);
        _ -> I
    end,
    E = case B of
        <<_:F/binary, X, _/binary>> when X =:= $e; X =:= $E -> digits1(B, sign(B, F + 1));
        _ -> F
    end,
    E =< ?MAX_NUMBER orelse fail(<<"number too long">>, B),
    <<Lit:E/binary, Rest/binary>> = B,
    V = if
        E =:= I ->
            binary_to_integer(Lit);
        true ->
            %% binary_to_float/1 needs a fraction: "1e5" is read as "1.0e5"
            <<Int:I/binary, Tail/binary>> = Lit,
            Text = if F =:= I -> <<Int/binary, ".0", Tail/binary>>; true -> Lit end,
            try
                binary_to_float(Text)
            catch
                error:_ -> fail(<<"number out of range">>, B)
            end
    end,
    {V, Rest}.

%% After an optional sign at N.
sign(B, N) ->
    case B of
        <<_:N/binary, S, _/binary>> when S =:= $-; S =:= $+ -> N + 1;
        _ -> N
    end.

%% After one or more digits from N.
digits1(B, N) ->
    case digits(B, N) of
        N -> fail(<<"bad number">>, B);
        End -> End
    end.

digits(B, N) ->
    case B of
        <<_:N/binary, C, _/binary>> when C >= $0, C =< $9 -> digits(B, N + 1);
        _ -> N
    end.

%% A string body after the opening quote: returns the decoded binary (a sub-binary of the input when
%% it has no escapes). B starts with a run of N plain bytes.
str(B, N, Acc) ->
    case B of
        <<Run:N/binary, $", R/binary>> when Acc =:= [] ->
            {Run, R};
        <<Run:N/binary, $", R/binary>> ->
            {iolist_to_binary(lists:reverse([Run | Acc])), R};
        <<_:N/binary, $\\, E, R/binary>> ->
            <<Run:N/binary, Esc/binary>> = B,
            {Char, R2} = unescape(E, R, Esc),
            str(R2, 0, [Char, Run | Acc]);
        <<_:N/binary, C, _/binary>> when C >= 16#20, C < 16#80 ->
            str(B, N + 1, Acc);
        <<_:N/binary, U/utf8, _/binary>> when U >= 16#80 ->
            str(B, N + utf8_len(U), Acc);
        <<_:N/binary, C, _/binary>> when C < 16#20 ->
            <<_:N/binary, Bad/binary>> = B,
            fail(<<"control character in string">>, Bad);
        <<_:N/binary, Bad/binary>> when Bad =:= <<>>; Bad =:= <<"\\">> ->
            fail(<<"unterminated string">>, <<>>);
        <<_:N/binary, Bad/binary>> ->
            fail(<<"invalid UTF-8 in string">>, Bad)
    end.

%% An escape: E is the byte after the backslash, B starts at the backslash.
unescape($u, R, B) ->
    case hex4(R) of
        {Hi, <<"\\u", R3/binary>> = R2} when Hi >= 16#D800, Hi =< 16#DBFF ->
            %% a UTF-16 surrogate pair (RFC 8259 section 7)
            case hex4(R3) of
                {Lo, R4} when Lo >= 16#DC00, Lo =< 16#DFFF ->
                    {<<((Hi - 16#D800) * 16#400 + (Lo - 16#DC00) + 16#10000)/utf8>>, R4};
                _ ->
                    fail(<<"bad surrogate pair">>, R2)
            end;
        {U, R2} when U >= 16#D800, U =< 16#DFFF ->
            fail(<<"lone surrogate">>, R2);
        {U, R2} when is_integer(U) ->
            {<<U/utf8>>, R2};
        _ ->
            fail(<<"bad \\u escape">>, B)
    end;
unescape(E, R, B) ->
    case lists:keyfind(E, 1, ?ESCAPES) of
        {_, C} -> {C, R};
        false -> fail(<<"bad escape">>, B)
    end.

%% Four hex digits: {Value, Rest}, Value `error' when one is not a hex digit (the one copy of hexval/1 is
%% in httpd_parse).
hex4(<<A, B, C, D, R/binary>>) -> {hex([A, B, C, D], 0), R};
hex4(_) -> error.

hex([C | Cs], Acc) when is_integer(Acc) ->
    case httpd_parse:hexval(C) of
        error -> error;
        V -> hex(Cs, Acc * 16 + V)
    end;
hex(_, Acc) ->
    Acc.
