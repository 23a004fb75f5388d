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

%% ---------------------------------------------------------------------------------------------
%% Encoding
%% ---------------------------------------------------------------------------------------------

%% @doc Encodes a term; raises `{json_encode, Term}' on something JSON cannot express (a tuple, a pid,
%% a map key that is not a binary or atom, a binary that is not UTF-8).
-spec encode(json()) -> iodata().
encode(true) ->
    <<"true">>;
encode(false) ->
    <<"false">>;
encode(null) ->
    <<"null">>;
encode(B) when is_binary(B) ->
    string(B);
encode(I) when is_integer(I) ->
    integer_to_binary(I);
encode(F) when is_float(F) ->
    float_text(F);
encode(A) when is_atom(A) ->
    string(atom_to_binary(A, utf8));
encode([]) ->
    <<"[]">>;
encode(L) when is_list(L) ->
    [$[, encode(hd(L)) | elements(tl(L))];
encode(M) when is_map(M) ->
    case maps:to_list(M) of
        [] -> <<"{}">>;
        [{K, V} | Rest] -> [${, key(K), $:, encode(V) | members(Rest)]
    end;
encode(Other) ->
    erlang:error({json_encode, Other}).

elements([]) -> [$]];
elements([V | R]) -> [$,, encode(V) | elements(R)];
elements(Improper) -> erlang:error({json_encode, Improper}).

members([]) -> [$}];
members([{K, V} | R]) -> [$,, key(K), $:, encode(V) | members(R)].

key(K) when is_binary(K) -> string(K);
key(K) when is_atom(K) -> string(atom_to_binary(K, utf8));
key(K) -> erlang:error({json_encode, K}).

%% Shortest representation that reads back as the same float; AtomVM builds without the `short' option
%% fall back to float_to_binary/1, whose `1.00000000000000000000e+00' form is valid JSON.
float_text(F) ->
    try
        float_to_binary(F, [short])
    catch
        error:_ -> float_to_binary(F)
    end.

%% A JSON string: `"', `\' and control characters escaped (RFC 8259 section 7); the bytes are checked
%% to be UTF-8. Runs of plain bytes are emitted as sub-binaries of the input.
string(B) ->
    case escape(B, B, 0, 0, []) of
        [Whole] -> [$", Whole, $"];
        Parts -> [$", Parts, $"]
    end.

%% escape(Rest, Whole, RunStart, Pos, AccRev) -> iolist of the escaped string
escape(<<>>, Whole, Start, Pos, Acc) ->
    lists:reverse([binary:part(Whole, Start, Pos - Start) | Acc]);
escape(<<C, R/binary>>, Whole, Start, Pos, Acc) when C >= 16#20, C < 16#80, C =/= $", C =/= $\\ ->
    escape(R, Whole, Start, Pos + 1, Acc);
escape(<<C, R/binary>>, Whole, Start, Pos, Acc) when C < 16#80 ->
    Acc2 = [esc(C), binary:part(Whole, Start, Pos - Start) | Acc],
    escape(R, Whole, Pos + 1, Pos + 1, Acc2);
escape(<<U/utf8, R/binary>>, Whole, Start, Pos, Acc) ->
    escape(R, Whole, Start, Pos + utf8_len(U), Acc);
escape(_, Whole, _Start, _Pos, _Acc) ->
    erlang:error({json_encode, Whole}).

utf8_len(U) when U < 16#800 -> 2;
utf8_len(U) when U < 16#10000 -> 3;
utf8_len(_) -> 4.

esc(C) ->
    %% one literal list rather than a clause per escape
    case lists:keyfind(C, 1, [
        {$", <<"\\\"">>}, {$\\, <<"\\\\">>}, {$\n, <<"\\n">>}, {$\r, <<"\\r">>}, {$\t, <<"\\t">>},
        {$\b, <<"\\b">>}, {$\f, <<"\\f">>}
    ]) of
        {_, E} -> E;
        false -> [<<"\\u00">>, hex_digit(C bsr 4), hex_digit(C band 15)]
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

ws(<<C, R/binary>>) when C =:= $\s; C =:= $\t; C =:= $\n; C =:= $\r -> ws(R);
ws(B) -> B.

value(<<${, R/binary>> = B, D) ->
    D < ?MAX_DEPTH orelse fail(<<"nesting too deep">>, B),
    object(ws(R), D + 1, #{});
value(<<$[, R/binary>> = B, D) ->
    D < ?MAX_DEPTH orelse fail(<<"nesting too deep">>, B),
    array(ws(R), D + 1);
value(<<$", R/binary>>, _D) ->
    str(R);
value(<<"true", R/binary>>, _D) ->
    {true, R};
value(<<"false", R/binary>>, _D) ->
    {false, R};
value(<<"null", R/binary>>, _D) ->
    {null, R};
value(<<C, _/binary>> = B, _D) when C =:= $-; C >= $0, C =< $9 ->
    number(B);
value(<<>> = B, _D) ->
    fail(<<"unexpected end of input">>, B);
value(B, _D) ->
    fail(<<"unexpected character">>, B).

object(<<$}, R/binary>>, _D, Acc) ->
    {Acc, R};
object(B, D, Acc) ->
    members(B, D, Acc).

members(<<$", R/binary>>, D, Acc) ->
    {K, R1} = str(R),
    case ws(R1) of
        <<$:, R2/binary>> ->
            {V, R3} = value(ws(R2), D),
            Acc2 = Acc#{K => V},
            case ws(R3) of
                <<$,, R4/binary>> -> members(ws(R4), D, Acc2);
                <<$}, R4/binary>> -> {Acc2, R4};
                <<>> = E -> fail(<<"unexpected end of input">>, E);
                Other -> fail(<<"expected , or }">>, Other)
            end;
        <<>> = E ->
            fail(<<"unexpected end of input">>, E);
        Other ->
            fail(<<"expected :">>, Other)
    end;
members(<<>> = E, _D, _Acc) ->
    fail(<<"unexpected end of input">>, E);
members(B, _D, _Acc) ->
    fail(<<"expected a string key">>, B).

array(<<$], R/binary>>, _D) ->
    {[], R};
array(B, D) ->
    elements(B, D, []).

elements(B, D, Acc) ->
    {V, R} = value(B, D),
    case ws(R) of
        <<$,, R2/binary>> -> elements(ws(R2), D, [V | Acc]);
        <<$], R2/binary>> -> {lists:reverse([V | Acc]), R2};
        <<>> = E -> fail(<<"unexpected end of input">>, E);
        Other -> fail(<<"expected , or ]">>, Other)
    end.

%% number = [ minus ] int [ frac ] [ exp ] (RFC 8259 section 6)
number(B) ->
    {Len, Float, NoFrac} = num_int(B, 0),
    Len =< ?MAX_NUMBER orelse fail(<<"number too long">>, B),
    <<Lit:Len/binary, Rest/binary>> = B,
    V =
        case {Float, NoFrac} of
            {false, _} -> binary_to_integer(Lit);
            {true, true} -> to_float(normalize(Lit), B);
            {true, false} -> to_float(Lit, B)
        end,
    {V, Rest}.

to_float(Lit, B) ->
    try
        binary_to_float(Lit)
    catch
        error:_ -> fail(<<"number out of range">>, B)
    end.

num_int(B, 0) ->
    case B of
        <<$-, _/binary>> -> num_first(B, 1);
        _ -> num_first(B, 0)
    end.

num_first(B, N) ->
    case B of
        <<_:N/binary, $0, _/binary>> -> num_frac(B, N + 1);
        <<_:N/binary, C, _/binary>> when C >= $1, C =< $9 -> num_frac(B, digits(B, N + 1));
        _ -> fail(<<"bad number">>, B)
    end.

digits(B, N) ->
    case B of
        <<_:N/binary, C, _/binary>> when C >= $0, C =< $9 -> digits(B, N + 1);
        _ -> N
    end.

num_frac(B, N) ->
    case B of
        <<_:N/binary, $., C, _/binary>> when C >= $0, C =< $9 ->
            num_exp(B, digits(B, N + 2), true);
        <<_:N/binary, $., _/binary>> ->
            fail(<<"bad number">>, B);
        _ ->
            num_exp(B, N, false)
    end.

num_exp(B, N, Frac) ->
    case B of
        <<_:N/binary, E, S, C, _/binary>> when
            (E =:= $e orelse E =:= $E), (S =:= $+ orelse S =:= $-), C >= $0, C =< $9
        ->
            {digits(B, N + 3), true, not Frac};
        <<_:N/binary, E, C, _/binary>> when (E =:= $e orelse E =:= $E), C >= $0, C =< $9 ->
            {digits(B, N + 2), true, not Frac};
        <<_:N/binary, E, _/binary>> when E =:= $e; E =:= $E ->
            fail(<<"bad number">>, B);
        _ ->
            {N, Frac, false}
    end.

%% "1e5" has no fraction, which binary_to_float/1 requires: write it as "1.0e5".
normalize(Lit) ->
    [Mant, Exp] = split_exp(Lit),
    <<Mant/binary, ".0e", Exp/binary>>.

split_exp(Lit) ->
    case binary:split(Lit, <<"e">>) of
        [_, _] = Two -> Two;
        [_] -> binary:split(Lit, <<"E">>)
    end.

%% A string body after the opening quote: returns the decoded binary (a sub-binary of the input when
%% it has no escapes).
str(B) ->
    str(B, 0, []).

str(B, N, Acc) ->
    case B of
        <<_:N/binary, $", R/binary>> ->
            <<Run:N/binary, _/binary>> = B,
            case Acc of
                [] -> {Run, R};
                _ -> {iolist_to_binary(lists:reverse([Run | Acc])), R}
            end;
        <<_:N/binary, $\\, E, R/binary>> ->
            <<Run:N/binary, Esc/binary>> = B,
            {Char, R2} = unescape(E, R, Esc),
            str(R2, 0, [Char, Run | Acc]);
        <<_:N/binary, C, _/binary>> when C >= 16#20, C < 16#80 ->
            str(B, N + 1, Acc);
        <<_:N/binary, C, _/binary>> when C < 16#20 ->
            <<_:N/binary, Bad/binary>> = B,
            fail(<<"control character in string">>, Bad);
        <<_:N/binary, U/utf8, _/binary>> ->
            str(B, N + utf8_len(U), Acc);
        <<_:N/binary>> ->
            fail(<<"unterminated string">>, <<>>);
        <<_:N/binary, $\\>> ->
            fail(<<"unterminated string">>, <<>>);
        _ ->
            <<_:N/binary, Bad/binary>> = B,
            fail(<<"invalid UTF-8 in string">>, Bad)
    end.

unescape($u, R, B) ->
    case hex4(R) of
        {Hi, R2} when Hi >= 16#D800, Hi =< 16#DBFF ->
            %% a UTF-16 surrogate pair (RFC 8259 section 7)
            case R2 of
                <<"\\u", R3/binary>> ->
                    case hex4(R3) of
                        {Lo, R4} when Lo >= 16#DC00, Lo =< 16#DFFF ->
                            {<<((Hi - 16#D800) * 16#400 + (Lo - 16#DC00) + 16#10000)/utf8>>, R4};
                        _ ->
                            fail(<<"bad surrogate pair">>, R2)
                    end;
                _ ->
                    fail(<<"lone surrogate">>, R2)
            end;
        {Lo, R2} when Lo >= 16#DC00, Lo =< 16#DFFF ->
            fail(<<"lone surrogate">>, R2);
        {U, R2} ->
            {<<U/utf8>>, R2};
        error ->
            fail(<<"bad \\u escape">>, B)
    end;
unescape(E, R, B) ->
    %% the one-character escapes as one literal list rather than a clause each
    case lists:keyfind(E, 1, [
        {$", $"}, {$\\, $\\}, {$/, $/}, {$b, $\b}, {$f, $\f}, {$n, $\n}, {$r, $\r}, {$t, $\t}
    ]) of
        {_, C} -> {C, R};
        false -> fail(<<"bad escape">>, B)
    end.

hex4(<<A, B, C, D, R/binary>>) ->
    %% hex digits: the one copy of hexval/1, in httpd_parse
    case
        {httpd_parse:hexval(A), httpd_parse:hexval(B), httpd_parse:hexval(C), httpd_parse:hexval(D)}
    of
        {W, X, Y, Z} when is_integer(W), is_integer(X), is_integer(Y), is_integer(Z) ->
            {((W * 16 + X) * 16 + Y) * 16 + Z, R};
        _ ->
            error
    end;
hex4(_) ->
    error.

