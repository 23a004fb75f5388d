%% @doc Pure: ECDSA P-256 (secp256r1) signature verification in Erlang, for the VMs whose
%% `crypto:verify/5' is missing (AtomVM built against mbedTLS older than 3.6, such as generic_unix on
%% Debian 12). `ota_trust' calls `crypto:verify/5' first and this only when that is `undef'.
%%
%% AtomVM's integers stop at 256 bits, so no value here ever exceeds that: field products are
%% computed on 32-bit words and reduced with the NIST fast reduction (FIPS 186-4 D.2.3), and sums
%% are taken modulo before they can carry out. Points are Jacobian ({X, Y, Z}, or `inf').
-module(ecdsa_p256).

-export([verify/3, verify_digest/3, public_key_valid/1, fmul/2, mulmod_n/2, der_signature/1]).

-define(P, 16#FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF).
-define(N, 16#FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551).
-define(B, 16#5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B).
-define(GX, 16#6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296).
-define(GY, 16#4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5).
-define(M32, 16#FFFFFFFF).

%% @doc True when `DerSig' (ASN.1 DER, as OTP's `crypto:sign/4' makes) signs `Msg' with SHA-256 under
%% the uncompressed public key `<<4, X:256, Y:256>>'.
-spec verify(iodata(), binary(), binary()) -> boolean().
verify(Msg, DerSig, PubKey) ->
    verify_digest(crypto:hash(sha256, Msg), DerSig, PubKey).

%% @doc The same for a SHA-256 digest already computed.
-spec verify_digest(binary(), binary(), binary()) -> boolean().
verify_digest(<<E:256>>, DerSig, <<4, QX:256, QY:256>> = Pub) ->
    case {der_signature(DerSig), public_key_valid(Pub)} of
        {{ok, R, S}, true} when R >= 1, R < ?N, S >= 1, S < ?N ->
            W = inv(S, ?N),
            U1 = mulmod_n(E rem ?N, W),
            U2 = mulmod_n(R, W),
            case shamir(U1, U2, {QX, QY, 1}) of
                inf -> false;
                {X, _Y, Z} ->
                    Zi = inv(Z, ?P),
                    Xa = fmul(X, fmul(Zi, Zi)),
                    Xa rem ?N =:= R
            end;
        _ ->
            false
    end;
verify_digest(_, _, _) ->
    false.

%% @doc True when the key is a point on the curve (an off-curve key would verify forged signatures).
-spec public_key_valid(binary()) -> boolean().
public_key_valid(<<4, X:256, Y:256>>) when X < ?P, Y < ?P ->
    fmul(Y, Y) =:= fadd(fsub(fmul(X, fmul(X, X)), fadd(X, fadd(X, X))), ?B);
public_key_valid(_) ->
    false.

%% @doc `{ok, R, S}' from a DER `SEQUENCE { INTEGER r, INTEGER s }', or `error'.
-spec der_signature(binary()) -> {ok, non_neg_integer(), non_neg_integer()} | error.
der_signature(<<16#30, Len, Body:Len/binary>>) when Len < 128 ->
    case der_int(Body) of
        {ok, R, Rest} ->
            case der_int(Rest) of
                {ok, S, <<>>} -> {ok, R, S};
                _ -> error
            end;
        error ->
            error
    end;
der_signature(_) ->
    error.

der_int(<<2, Len, Int:Len/binary, Rest/binary>>) when Len >= 1, Len =< 33 ->
    %% at most 32 value bytes after a leading zero: never more than 256 bits
    case Int of
        <<0, V/binary>> when byte_size(V) =< 32 -> {ok, unsigned(V), Rest};
        _ when Len =< 32 -> {ok, unsigned(Int), Rest};
        _ -> error
    end;
der_int(_) ->
    error.

unsigned(Bin) ->
    Bits = byte_size(Bin) * 8,
    <<V:Bits>> = Bin,
    V.

%% ---- the group: U1·G + U2·Q with one shared doubling chain (Shamir's trick) ----

shamir(U1, U2, Q) ->
    G = {?GX, ?GY, 1},
    GQ = add(G, Q),
    ladder(255, U1, U2, G, Q, GQ, inf).

ladder(-1, _U1, _U2, _G, _Q, _GQ, Acc) ->
    Acc;
ladder(I, U1, U2, G, Q, GQ, Acc0) ->
    Acc = double(Acc0),
    Acc2 =
        case {(U1 bsr I) band 1, (U2 bsr I) band 1} of
            {0, 0} -> Acc;
            {1, 0} -> add(Acc, G);
            {0, 1} -> add(Acc, Q);
            {1, 1} -> add(Acc, GQ)
        end,
    ladder(I - 1, U1, U2, G, Q, GQ, Acc2).

%% dbl-2001-b (a = -3)
double(inf) ->
    inf;
double({_, 0, _}) ->
    inf;
double({X, Y, Z}) ->
    Delta = fmul(Z, Z),
    Gamma = fmul(Y, Y),
    Beta = fmul(X, Gamma),
    T = fmul(fsub(X, Delta), fadd(X, Delta)),
    Alpha = fadd(T, fadd(T, T)),
    Beta4 = fadd(fadd(Beta, Beta), fadd(Beta, Beta)),
    X3 = fsub(fmul(Alpha, Alpha), fadd(Beta4, Beta4)),
    YZ = fadd(Y, Z),
    Z3 = fsub(fsub(fmul(YZ, YZ), Gamma), Delta),
    G2 = fmul(Gamma, Gamma),
    G8 = fadd(fadd(fadd(G2, G2), fadd(G2, G2)), fadd(fadd(G2, G2), fadd(G2, G2))),
    Y3 = fsub(fmul(Alpha, fsub(Beta4, X3)), G8),
    {X3, Y3, Z3}.

add(inf, P) ->
    P;
add(P, inf) ->
    P;
add({X1, Y1, Z1} = P1, {X2, Y2, Z2}) ->
    Z1Z1 = fmul(Z1, Z1),
    Z2Z2 = fmul(Z2, Z2),
    U1 = fmul(X1, Z2Z2),
    U2 = fmul(X2, Z1Z1),
    S1 = fmul(Y1, fmul(Z2, Z2Z2)),
    S2 = fmul(Y2, fmul(Z1, Z1Z1)),
    H = fsub(U2, U1),
    R = fsub(S2, S1),
    case {H, R} of
        {0, 0} -> double(P1);
        {0, _} -> inf;
        _ ->
            H2 = fmul(H, H),
            H3 = fmul(H, H2),
            U1H2 = fmul(U1, H2),
            X3 = fsub(fsub(fmul(R, R), H3), fadd(U1H2, U1H2)),
            Y3 = fsub(fmul(R, fsub(U1H2, X3)), fmul(S1, H3)),
            Z3 = fmul(H, fmul(Z1, Z2)),
            {X3, Y3, Z3}
    end.

%% ---- the field mod P, never above 256 bits ----

fadd(A, B) ->
    case A >= ?P - B of
        true -> A - (?P - B);
        false -> A + B
    end.

fsub(A, B) when A >= B -> A - B;
fsub(A, B) -> A + (?P - B).

%% @doc A·B mod P for A, B < P.
-spec fmul(non_neg_integer(), non_neg_integer()) -> non_neg_integer().
fmul(A, B) ->
    <<A7:32, A6:32, A5:32, A4:32, A3:32, A2:32, A1:32, A0:32>> = <<A:256>>,
    <<B7:32, B6:32, B5:32, B4:32, B3:32, B2:32, B1:32, B0:32>> = <<B:256>>,
    As = {A0, A1, A2, A3, A4, A5, A6, A7},
    Bs = {B0, B1, B2, B3, B4, B5, B6, B7},
    [T0, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14, T15] =
        carry(columns(0, As, Bs, []), 0, []),
    %% s1 + 2s2 + 2s3 + s4 + s5 - s6 - s7 - s8 - s9, word by word
    R0 = T0 + T8 + T9 - T11 - T12 - T13 - T14,
    R1 = T1 + T9 + T10 - T12 - T13 - T14 - T15,
    R2 = T2 + T10 + T11 - T13 - T14 - T15,
    R3 = T3 + 2 * T11 + 2 * T12 + T13 - T15 - T8 - T9,
    R4 = T4 + 2 * T12 + 2 * T13 + T14 - T9 - T10,
    R5 = T5 + 2 * T13 + 2 * T14 + T15 - T10 - T11,
    R6 = T6 + 3 * T14 + 2 * T15 + T13 - T8 - T9,
    R7 = T7 + 3 * T15 + T8 - T10 - T11 - T12 - T13,
    fold([R0, R1, R2, R3, R4, R5, R6, R7]).

%% Column sums of the schoolbook product, lowest first (each below 2^67).
columns(16, _As, _Bs, Acc) ->
    lists:reverse(Acc);
columns(K, As, Bs, Acc) ->
    Lo = max(0, K - 7),
    Hi = min(K, 7),
    columns(K + 1, As, Bs, [column(Lo, Hi, K, As, Bs, 0) | Acc]).

column(I, Hi, _K, _As, _Bs, Sum) when I > Hi -> Sum;
column(I, Hi, K, As, Bs, Sum) ->
    column(I + 1, Hi, K, As, Bs, Sum + element(I + 1, As) * element(K - I + 1, Bs)).

%% Carries signed word sums into 32-bit words, lowest first; a carry out of the top is dropped only
%% by the caller that knows it is zero.
carry([], 0, Acc) -> lists:reverse(Acc);
carry([], C, Acc) -> {lists:reverse(Acc), C};
carry([W | Ws], C, Acc) ->
    V = W + C,
    carry(Ws, V bsr 32, [V band ?M32 | Acc]).

%% Eight signed word sums → the value mod P. A carry C out of word 7 stands for C·2^256, which is
%% C·(2^224 - 2^192 - 2^96 + 1) mod P: folded back in until none is left.
fold(Words) ->
    case carry(Words, 0, []) of
        {[W0, W1, W2, W3, W4, W5, W6, W7], C} ->
            fold([W0 + C, W1, W2, W3 - C, W4, W5, W6 - C, W7 + C]);
        [W0, W1, W2, W3, W4, W5, W6, W7] ->
            <<V:256>> = <<W7:32, W6:32, W5:32, W4:32, W3:32, W2:32, W1:32, W0:32>>,
            case V >= ?P of
                true -> V - ?P;
                false -> V
            end
    end.

%% ---- scalars mod N ----

%% @doc A·B mod N by doubling and adding, so nothing exceeds N + N < 2^257 before it is reduced.
-spec mulmod_n(non_neg_integer(), non_neg_integer()) -> non_neg_integer().
mulmod_n(A, B) -> mulmod(A, B, 255, 0).

mulmod(_A, _B, -1, Acc) -> Acc;
mulmod(A, B, I, Acc0) ->
    Acc = addmod(Acc0, Acc0, ?N),
    case (B bsr I) band 1 of
        1 -> mulmod(A, B, I - 1, addmod(Acc, A, ?N));
        0 -> mulmod(A, B, I - 1, Acc)
    end.

addmod(A, B, M) ->
    case A >= M - B of
        true -> A - (M - B);
        false -> A + B
    end.

%% Modular inverse by the extended Euclidean algorithm: every value stays below M in magnitude.
inv(A, M) -> inv(A rem M, M, 1, 0, M).

inv(OldR, 0, OldS, _S, M) when OldR =:= 1 ->
    case OldS < 0 of
        true -> OldS + M;
        false -> OldS
    end;
inv(_OldR, 0, _OldS, _S, _M) ->
    erlang:error(not_invertible);
inv(OldR, R, OldS, S, M) ->
    Q = OldR div R,
    inv(R, OldR - Q * R, S, OldS - Q * S, M).
