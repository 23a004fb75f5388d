%% @doc EUnit: the pure parts of OTA — the Erlang P-256 verifier against OTP's crypto, the signed
%% message, hex — and the `device_flash' files backend with `ota_image' over it (a temp directory
%% standing in for a device's flash, as `avmd sim' uses).
-module(ota_tests).

-include_lib("eunit/include/eunit.hrl").

-define(P, 16#FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF).
-define(N, 16#FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551).

%% ---- ecdsa_p256 ----

field_and_scalar_products_match_bignums_test() ->
    rand:seed(exsss, {1, 2, 3}),
    Edge = [0, 1, 2, ?P - 1, ?P - 2, 1 bsl 255, (1 bsl 224) - 1],
    Random = [rand:uniform(?P) - 1 || _ <- lists:seq(1, 500)],
    Xs = Edge ++ Random,
    [?assertEqual((A * B) rem ?P, ecdsa_p256:fmul(A, B)) || A <- Xs, B <- lists:sublist(Xs, 12)],
    Ns = [X rem ?N || X <- Xs],
    [?assertEqual((A * B) rem ?N, ecdsa_p256:mulmod_n(A, B)) || A <- Ns, B <- lists:sublist(Ns, 12)].

verify_agrees_with_otp_crypto_test_() ->
    {timeout, 60, fun() ->
        lists:foreach(
            fun(I) ->
                {Pub, Priv} = crypto:generate_key(ecdh, secp256r1),
                Msg = crypto:strong_rand_bytes(I),
                Sig = crypto:sign(ecdsa, sha256, Msg, [Priv, secp256r1]),
                ?assert(ecdsa_p256:verify(Msg, Sig, Pub)),
                ?assertNot(ecdsa_p256:verify(<<Msg/binary, 0>>, Sig, Pub)),
                {OtherPub, _} = crypto:generate_key(ecdh, secp256r1),
                ?assertNot(ecdsa_p256:verify(Msg, Sig, OtherPub))
            end,
            lists:seq(1, 25))
    end}.

verify_refuses_malformed_input_test() ->
    {Pub, Priv} = crypto:generate_key(ecdh, secp256r1),
    Sig = crypto:sign(ecdsa, sha256, <<"m">>, [Priv, secp256r1]),
    <<4, X:256, Y:256>> = Pub,
    OffCurve = <<4, X:256, ((Y + 1) rem ?P):256>>,
    ?assertNot(ecdsa_p256:public_key_valid(OffCurve)),
    ?assertNot(ecdsa_p256:verify(<<"m">>, Sig, OffCurve)),
    ?assertNot(ecdsa_p256:verify(<<"m">>, <<>>, Pub)),
    ?assertNot(ecdsa_p256:verify(<<"m">>, <<48, 6, 2, 1, 0, 2, 1, 1>>, Pub)),   % r = 0
    ?assertNot(ecdsa_p256:verify(<<"m">>, binary:part(Sig, 0, byte_size(Sig) - 1), Pub)),
    ?assertNot(ecdsa_p256:verify(<<"m">>, Sig, <<2, X:256>>)),
    ?assertEqual(error, ecdsa_p256:der_signature(<<48, 3, 2, 1>>)).

%% ---- ota_trust ----

hex_round_trip_test() ->
    ?assertEqual(<<"00ff10ab">>, ota_trust:hex(<<0, 255, 16, 171>>)),
    ?assertEqual(<<0, 255, 16, 171>>, ota_trust:unhex(<<"00FF10aB">>)),
    ?assertEqual(error, ota_trust:unhex(<<"abc">>)),
    ?assertEqual(error, ota_trust:unhex(<<"zz">>)).

message_names_device_nonce_hash_and_size_test() ->
    ?assertEqual(<<"avmd-ota-v1\ndevice=sim-1\nnonce=ab\nsha256=cd\nsize=42\n">>,
                 ota_trust:message(<<"sim-1">>, <<"ab">>, <<"cd">>, 42)).

trust_verify_takes_otp_crypto_here_test() ->
    {Pub, Priv} = crypto:generate_key(ecdh, secp256r1),
    Msg = ota_trust:message(<<"d">>, <<"n">>, <<"s">>, 1),
    Sig = crypto:sign(ecdsa, sha256, Msg, [Priv, secp256r1]),
    ?assert(ota_trust:verify(Msg, Sig, Pub)),
    ?assertNot(ota_trust:verify(Msg, <<"garbage">>, Pub)),
    ?assertEqual(16, byte_size(ota_trust:key_id(Pub))).

%% ---- device_flash (files) and ota_image ----

with_flash(Fun) ->
    Dir = filename:join(os:getenv("TMPDIR", "/tmp"), "ota_tests_" ++ integer_to_list(erlang:unique_integer([positive]))),
    ok = filelib:ensure_dir(filename:join(Dir, "x")),
    ok = file:write_file(filename:join(Dir, "partitions"), <<"main.avm 65536\napp2.avm 65536\n">>),
    Old = os:getenv("AVMD_FLASH_DIR"),
    os:putenv("AVMD_FLASH_DIR", Dir),
    try Fun(Dir)
    after
        case Old of
            false -> os:unsetenv("AVMD_FLASH_DIR");
            _ -> os:putenv("AVMD_FLASH_DIR", Old)
        end,
        os:cmd("rm -rf " ++ Dir)
    end.

files_backend_partitions_and_nvs_test() ->
    with_flash(fun(Dir) ->
        ?assertEqual({files, list_to_binary(Dir)}, device_flash:backend()),
        ?assertEqual([{<<"main.avm">>, 65536}, {<<"app2.avm">>, 65536}], device_flash:partitions()),
        ?assertEqual({error, unaligned}, device_flash:erase(<<"app2.avm">>, 100, 4096)),
        ok = device_flash:erase(<<"app2.avm">>, 0, 8192),
        ok = device_flash:write(<<"app2.avm">>, 10, <<"abc">>),
        ?assertEqual({ok, <<255, "abc", 255>>}, device_flash:read(<<"app2.avm">>, 9, 5)),
        ?assertEqual(<<"main.avm">>, device_flash:running_partition()),
        ok = device_flash:nvs_put(atomvm, boot_path, device_flash:partition_path(<<"app2.avm">>)),
        ?assertEqual(<<"app2.avm">>, device_flash:running_partition()),
        ?assertEqual(undefined, device_flash:nvs_get(avmd, nothing)),
        ok = device_flash:nvs_put(avmd, device_id, <<"sim-7">>),
        ?assertEqual(<<"sim-7">>, device_flash:device_id()),
        ok = device_flash:nvs_erase(avmd, device_id),
        ?assertEqual(<<"unprovisioned">>, device_flash:device_id())
    end).

bundle_length_and_hash_test() ->
    with_flash(fun(_Dir) ->
        Section = <<28:32, 4:32, 0:32, "a/priv/x", 0, 0, 0, 0, 1, 2, 3, 4>>,
        End = <<0:32, 0:32, 0:32, "end", 0>>,
        Bundle = <<(ota_image:magic())/binary, Section/binary, End/binary>>,
        ok = device_flash:erase(<<"main.avm">>, 0, 4096),
        ok = device_flash:write(<<"main.avm">>, 0, Bundle),
        ?assert(ota_image:starts_like_bundle(Bundle)),
        ?assertNot(ota_image:starts_like_bundle(<<"#!/bin/sh\n", 0:200>>)),
        ?assertEqual({ok, byte_size(Bundle)}, ota_image:bundle_length(<<"main.avm">>)),
        ?assertEqual(ota_trust:hex(crypto:hash(sha256, Bundle)),
                     ota_image:hash_partition(<<"main.avm">>, byte_size(Bundle))),
        ?assertEqual(error, ota_image:bundle_length(<<"app2.avm">>))
    end).
