%% @doc EUnit: every device module of the runtime (runtime/_build/ebin) calls only functions AtomVM has.
%%
%% Reads each beam's import table and looks every remote call up in AtomVM's API tables: the rows of
%% bifs_nifs.tsv whose `where' is `core' or the platform, and estdlib_exports.tsv rows of the libraries
%% that ship on that platform (the same library scoping as the engine's compat.rs). Calls between runtime
%% modules count as present. An estdlib export that is also a NIF is a stub, present only where the NIF
%% is. Checked platforms: esp32, rp2, generic_unix; on stm32 only crypto:hash/2 may be missing: the
%% WebSocket accept key (RFC 6455 section 4.2.2) needs it, so WebSockets need esp32, rp2 or generic_unix.
%%
%% Tables are read from the repository copy (engine/data/) when present, else from
%% $AVMD_SHARED (or $AVMD_SHARED/atomvm).
-module(runtime_compat_tests).

-include_lib("eunit/include/eunit.hrl").

-define(ENFORCED, [esp32, rp2, generic_unix]).

%% ---------------------------------------------------------------------------------------------

runtime_dir() ->
    %% this beam lives in runtime/_build/test_ebin
    filename:dirname(filename:dirname(filename:dirname(code:which(?MODULE)))).

ebin_dir() -> filename:join([runtime_dir(), "_build", "ebin"]).

table_dir() ->
    Repo = filename:join([filename:dirname(runtime_dir()), "engine", "data"]),
    Shared =
        case os:getenv("AVMD_SHARED") of
            false -> [];
            S -> [filename:join(S, "atomvm"), S]
        end,
    case [D || D <- [Repo | Shared], filelib:is_regular(filename:join(D, "bifs_nifs.tsv"))] of
        [D | _] -> D;
        [] -> erlang:error({no_atomvm_tables, [Repo | Shared]})
    end.

rows(Dir, File) ->
    {ok, Bin} = file:read_file(filename:join(Dir, File)),
    [_Header | Lines] = binary:split(Bin, [<<"\n">>, <<"\r\n">>], [global, trim_all]),
    [binary:split(L, <<"\t">>, [global]) || L <- Lines].

%% Which platforms a library of estdlib_exports.tsv ships on (mirrors compat.rs library_scope).
library_scope(<<"avm_esp32">>) -> [esp32];
library_scope(<<"esp32boot">>) -> [esp32];
library_scope(<<"esp32devmode">>) -> [esp32];
library_scope(<<"avm_rp2">>) -> [rp2];
library_scope(<<"avm_stm32">>) -> [stm32];
library_scope(<<"avm_unix">>) -> [generic_unix];
library_scope(<<"avm_emscripten">>) -> [];
library_scope(_) -> all.

%% The API of one platform: a set of {M, F, A} (binaries).
api(Platform) ->
    Dir = table_dir(),
    P = atom_to_binary(Platform),
    BifRows = rows(Dir, "bifs_nifs.tsv"),
    Bifs = [{M, F, A} || [M, F, A, Where | _] <- BifRows, Where =:= <<"core">> orelse Where =:= P],
    %% An estdlib export that is a NIF somewhere (crypto:hash/2 in crypto.erl) is only the NIF's Erlang
    %% stub: it exists where the NIF does, which the BIF/NIF rows already say.
    Nifs = sets:from_list([{M, F, A} || [M, F, A | _] <- BifRows]),
    Lib = [
        {M, F, A}
     || [L, M, F, A | _] <- rows(Dir, "estdlib_exports.tsv"),
        not sets:is_element({M, F, A}, Nifs),
        begin
            Scope = library_scope(L),
            Scope =:= all orelse lists:member(Platform, Scope)
        end
    ],
    sets:from_list(Bifs ++ Lib).

has(Api, {M, F, A}) ->
    Mb = atom_to_binary(M),
    Fb = atom_to_binary(F),
    Ab = integer_to_binary(A),
    %% every name is literal: `erlang * 2' is multiplication, not a wildcard (FACTS.md)
    sets:is_element({Mb, Fb, Ab}, Api).

always_present({erlang, get_module_info, 1}) -> true;
always_present({erlang, get_module_info, 2}) -> true;
always_present({_, module_info, 0}) -> true;
always_present({_, module_info, 1}) -> true;
always_present(_) -> false.

imports(BeamFileOrBin) ->
    {ok, {Mod, [{imports, Imports}]}} = beam_lib:chunks(BeamFileOrBin, [imports]),
    {Mod, Imports}.

%% Misses: [{CallingModule, {M, F, A}}] for one platform.
misses(Modules, Platform) ->
    Api = api(Platform),
    Own = [M || {M, _} <- Modules],
    [
        {Mod, MFA}
     || {Mod, Imports} <- Modules,
        {M, _, _} = MFA <- Imports,
        not lists:member(M, Own),
        not always_present(MFA),
        not has(Api, MFA)
    ].

runtime_modules() ->
    Beams = filelib:wildcard(filename:join(ebin_dir(), "*.beam")),
    [imports(B) || B <- Beams].

format(Misses) ->
    lists:flatten([io_lib:format("  ~p calls ~p:~p/~p~n", [Mod, M, F, A]) || {Mod, {M, F, A}} <- Misses]).

%% ---------------------------------------------------------------------------------------------

runtime_beams_exist_test() ->
    Mods = runtime_modules(),
    io:format(user, "~nruntime_compat: ~b device modules in ~s: ~p~n", [length(Mods), ebin_dir(), [M || {M, _} <- Mods]]),
    io:format(user, "runtime_compat: AtomVM tables from ~s~n", [table_dir()]),
    ?assertNotEqual([], Mods).

platform_test_() ->
    [{atom_to_list(P), fun() -> check_platform(P) end} || P <- ?ENFORCED].

check_platform(Platform) ->
    Mods = runtime_modules(),
    ?assertNotEqual([], Mods),
    case [Miss || Miss <- misses(Mods, Platform), not gated(Miss)] of
        [] ->
            io:format(user, "runtime_compat: ~p: ~b modules, every call present~n", [Platform, length(Mods)]);
        Misses ->
            io:format(user, "runtime_compat: ~p: calls AtomVM does not have:~n~s", [Platform, format(Misses)]),
            erlang:error({missing_on, Platform, Misses})
    end.

%% Calls a module reaches only on the platform that has them: `device_flash' calls `esp' only from
%% its `esp' backend, which `backend/0' picks only on an ESP32 running AtomVM (and, on host OTP, the
%% harness's `esp' shim for a restart).
gated({device_flash, {esp, _, _}}) -> true;
gated(_) -> false.

device_flash_gates_esp_test() ->
    Misses = misses(runtime_modules(), rp2),
    ?assert(lists:all(fun gated/1, Misses)),
    ?assertMatch([_ | _], [M || {device_flash, {esp, partition_write, 3}} = M <- Misses]).

%% The host-only live-reload middleware is packed into AtomVM dev bundles (`avmd dev --vm atomvm'):
%% everything it calls must be on generic_unix, but zlib:gunzip/1, which it reaches only on host OTP.
dev_reload_runs_on_atomvm_test() ->
    Beam = filename:join([runtime_dir(), "_build", "host_ebin", "avmd_dev_reload.beam"]),
    Misses = [M || M <- misses([imports(Beam) | runtime_modules()], generic_unix), not gated(M)],
    ?assertEqual([{avmd_dev_reload, {zlib, gunzip, 1}}], Misses).

%% stm32: everything but crypto:hash/2 (the WebSocket accept key, see the module doc) and the socket
%% NIFs must be present. STM32 has no network stack: tcp_transport's `socket' calls are absent there
%% (gen_tcp's Erlang wrapper is listed, but it has no driver to call either).
stm32_test() ->
    Misses = misses(runtime_modules(), stm32),
    io:format(user, "runtime_compat: stm32 (crypto:hash/2 allowed missing): ~s~n", [
        case Misses of
            [] -> "every call present";
            _ -> "\n" ++ format(Misses)
        end
    ]),
    ?assertEqual([], [Miss || {Mod, {M, _, _} = MFA} = Miss <- Misses, MFA =/= {crypto, hash, 2}, M =/= socket,
                              not gated(Miss), not ota_needs_crypto(Mod, M)]).

%% OTA hashes and verifies with `crypto', which STM32 lacks (it has no network to update over either).
ota_needs_crypto(Mod, crypto) -> lists:member(Mod, [ecdsa_p256, httpd_ota, ota_agent, ota_image, ota_trust]);
ota_needs_crypto(_, _) -> false.

%% The checker itself finds misses: a module calling re:run/2, lists:sum/1 and dict:new/0 fails on every
%% platform, while its calls to lists:reverse/1 and to a sibling module pass.
checker_detects_misses_test() ->
    Forms = [
        {attribute, 1, module, compat_probe},
        {attribute, 2, export, [{f, 1}]},
        {function, 3, f, 1, [
            {clause, 3, [{var, 3, 'X'}], [], [
                {tuple, 4, [
                    {call, 4, {remote, 4, {atom, 4, re}, {atom, 4, run}}, [{var, 4, 'X'}, {var, 4, 'X'}]},
                    {call, 5, {remote, 5, {atom, 5, lists}, {atom, 5, sum}}, [{var, 5, 'X'}]},
                    {call, 6, {remote, 6, {atom, 6, dict}, {atom, 6, new}}, []},
                    {call, 7, {remote, 7, {atom, 7, lists}, {atom, 7, reverse}}, [{var, 7, 'X'}]},
                    {call, 8, {remote, 8, {atom, 8, httpd_parse}, {atom, 8, new}}, [{var, 8, 'X'}]}
                ]}
            ]}
        ]}
    ],
    {ok, compat_probe, Bin} = compile:forms(Forms, [binary]),
    Probe = imports(Bin),
    Sibling = {httpd_parse, []},
    [
        ?assertEqual(
            [{compat_probe, {dict, new, 0}}, {compat_probe, {lists, sum, 1}}, {compat_probe, {re, run, 2}}],
            lists:sort(misses([Probe, Sibling], P))
        )
     || P <- ?ENFORCED
    ],
    %% crypto:hash/2 exists on esp32 but not on stm32
    ?assert(has(api(esp32), {crypto, hash, 2})),
    ?assertNot(has(api(stm32), {crypto, hash, 2})).
