%% @doc Pure: what an OTA upload's signature covers and how it is checked (docs/ota.md).
%%
%% The project's key (ECDSA P-256) signs one short text naming the device, a nonce the device handed
%% out, the image's SHA-256 and its size. The device keeps only the public key, so a captured upload
%% is refused by every device but the one it was made for, and by that one once its nonce is used.
-module(ota_trust).

-export([message/4, verify/3, key_id/1, public_key/1, hex/1, unhex/1]).

%% @doc The signed text.
-spec message(binary(), binary(), binary(), non_neg_integer()) -> binary().
message(DeviceId, NonceHex, ShaHex, Size) ->
    <<"avmd-ota-v1\ndevice=", DeviceId/binary, "\nnonce=", NonceHex/binary, "\nsha256=", ShaHex/binary,
      "\nsize=", (integer_to_binary(Size))/binary, "\n">>.

%% @doc True when `Sig' (DER) signs `Msg' under `PubKey' (`<<4, X:256, Y:256>>'). The VM's
%% `crypto:verify/5' when it has one (ESP32's mbedTLS does), else `ecdsa_p256' in Erlang.
-spec verify(binary(), binary(), binary()) -> boolean().
verify(Msg, Sig, PubKey) ->
    try crypto:verify(ecdsa, sha256, Msg, Sig, [PubKey, secp256r1]) of
        true -> true;
        _ -> false
    catch
        error:undef -> ecdsa_p256:verify(Msg, Sig, PubKey);
        _:_ -> false
    end.

%% @doc The key's short name: the first 8 bytes of its SHA-256, in hex (what `avmd key' prints).
-spec key_id(binary()) -> binary().
key_id(PubKey) ->
    <<Id:8/binary, _/binary>> = crypto:hash(sha256, PubKey),
    hex(Id).

%% @doc The device's OTA public key: NVS `avmd/ota_pubkey' (written at provisioning) wins over the
%% one `avmd build' packs as the app's priv file `avmd/ota.pub'; `undefined' when neither is there.
-spec public_key(atom()) -> binary() | undefined.
public_key(App) ->
    case device_flash:nvs_get(avmd, ota_pubkey) of
        <<4, _:64/binary>> = Key -> Key;
        _ ->
            case atomvm:read_priv(App, <<"avmd/ota.pub">>) of
                <<4, _:64/binary>> = Key -> Key;
                _ -> undefined
            end
    end.

%% @doc Lowercase hex.
-spec hex(binary()) -> binary().
hex(Bin) -> <<<<(digit(N bsr 4)), (digit(N band 15))>> || <<N>> <= Bin>>.

digit(N) when N < 10 -> $0 + N;
digit(N) -> $a + N - 10.

%% @doc Bytes from hex (either case), or `error'.
-spec unhex(binary()) -> binary() | error.
unhex(Hex) when byte_size(Hex) rem 2 =:= 0 -> unhex(Hex, <<>>);
unhex(_) -> error.

unhex(<<>>, Acc) -> Acc;
unhex(<<A, B, Rest/binary>>, Acc) ->
    case {nibble(A), nibble(B)} of
        {error, _} -> error;
        {_, error} -> error;
        {H, L} -> unhex(Rest, <<Acc/binary, (H * 16 + L)>>)
    end.

nibble(C) when C >= $0, C =< $9 -> C - $0;
nibble(C) when C >= $a, C =< $f -> C - $a + 10;
nibble(C) when C >= $A, C =< $F -> C - $A + 10;
nibble(_) -> error.
