%% @doc Host-only stand-in for AtomVM's `atomvm' module, so device code runs unchanged on OTP.
%% Process-free: priv files come from the `avmd_priv' ETS table when the host harness has loaded a
%% bundle into it (keys `{AppAtom, PathBinary}'), else from the app's priv dir on disk.
%% Never packed into a bundle.
-module(atomvm).
-export([platform/0, read_priv/2, add_priv/3, random/0, rand_bytes/1]).
%% `erlang:system_info/1' as AtomVM answers it: the host runner redirects the bundle's calls here
-export([system_info/1]).
%% AtomVM's POSIX file NIFs, over OTP's `file' (raw): what `device_flash' uses for `avmd sim' flash
-export([posix_open/2, posix_open/3, posix_close/1, posix_read/2, posix_pread/3, posix_pwrite/3,
         posix_mkdir/2, posix_rename/2, posix_unlink/1]).

%% @doc `generic_unix', or the platform of the profile the host harness runs the app for (`esp32' ...).
-spec platform() -> atom().
platform() -> application:get_env(avmd_host, platform, generic_unix).

%% @doc Like AtomVM: the file's bytes, or `undefined' when it is not there.
-spec read_priv(atom(), iodata()) -> binary() | undefined.
read_priv(App, Path) ->
    PathBin = iolist_to_binary(Path),
    case ets:info(avmd_priv) of
        undefined -> read_priv_dir(App, PathBin);
        _ ->
            case ets:lookup(avmd_priv, {App, PathBin}) of
                [{_, Bin}] -> Bin;
                [] -> read_priv_dir(App, PathBin)
            end
    end.

%% @doc Registers a priv file (used by the host harness when it loads a bundle, and by tests).
-spec add_priv(atom(), binary(), binary()) -> true.
add_priv(App, Path, Bin) ->
    case ets:info(avmd_priv) of
        undefined -> ets:new(avmd_priv, [named_table, public, set, {read_concurrency, true}]);
        _ -> ok
    end,
    ets:insert(avmd_priv, {{App, Path}, Bin}).

read_priv_dir(App, PathBin) ->
    case code:priv_dir(App) of
        {error, _} -> undefined;
        Dir ->
            case file:read_file(filename:join(Dir, PathBin)) of
                {ok, Bin} -> Bin;
                {error, _} -> undefined
            end
    end.

-spec random() -> non_neg_integer().
random() -> rand:uniform(16#FFFFFFFF) - 1.

-spec rand_bytes(non_neg_integer()) -> binary().
rand_bytes(N) -> crypto:strong_rand_bytes(N).

%% ---- POSIX files (AtomVM returns `{ok, Fd}' / `{error, Posix}', `eof' at the end) ----

-spec posix_open(iodata(), [atom()]) -> {ok, file:fd()} | {error, atom()}.
posix_open(Path, Flags) -> posix_open(Path, Flags, 8#644).

-spec posix_open(iodata(), [atom()], non_neg_integer()) -> {ok, file:fd()} | {error, atom()}.
posix_open(Path, Flags, _Mode) ->
    P = iolist_to_binary(Path),
    Exists = filelib:is_regular(P),
    Modes =
        case {lists:member(o_rdonly, Flags), lists:member(o_trunc, Flags)} of
            {true, _} -> [read];
            {false, true} -> [write];
            %% OTP truncates a file opened for write alone; POSIX does not without O_TRUNC
            {false, false} -> [read, write]
        end,
    case Exists orelse lists:member(o_creat, Flags) of
        true -> file:open(P, [raw, binary | Modes]);
        false -> {error, enoent}
    end.

-spec posix_close(file:fd()) -> ok.
posix_close(Fd) -> file:close(Fd).

-spec posix_read(file:fd(), non_neg_integer()) -> {ok, binary()} | eof | {error, atom()}.
posix_read(Fd, N) -> file:read(Fd, N).

-spec posix_pread(file:fd(), non_neg_integer(), non_neg_integer()) -> {ok, binary()} | eof | {error, atom()}.
posix_pread(Fd, N, At) -> file:pread(Fd, At, N).

-spec posix_pwrite(file:fd(), binary(), non_neg_integer()) -> {ok, non_neg_integer()} | {error, atom()}.
posix_pwrite(Fd, Data, At) ->
    case file:pwrite(Fd, At, Data) of
        ok -> {ok, byte_size(Data)};
        Error -> Error
    end.

-spec posix_mkdir(iodata(), non_neg_integer()) -> ok | {error, atom()}.
posix_mkdir(Path, _Mode) -> file:make_dir(iolist_to_binary(Path)).

-spec posix_rename(iodata(), iodata()) -> ok | {error, atom()}.
posix_rename(From, To) -> file:rename(iolist_to_binary(From), iolist_to_binary(To)).

-spec posix_unlink(iodata()) -> ok | {error, atom()}.
posix_unlink(Path) -> file:delete(iolist_to_binary(Path)).

%% @doc `erlang:system_info/1' with AtomVM's answers (src/libAtomVM/nifs.c at the pinned commit), which
%% the host runner points every bundle call of it at (engine/src/host_shims.rs): AtomVM's own keys
%% (`atomvm_version', `avm_floatsize', `system_architecture' as AtomVM types it), OTP's answer for the
%% keys both have, and `undefined' for any other key, as generic_unix AtomVM answers
%% `esp32_free_heap_size' and the like where OTP raises badarg. `machine' stays OTP's "BEAM": the
%% runtime (tcp_transport, device_flash) reads it to know which VM it runs on, and that is still OTP.
-spec system_info(atom()) -> term().
system_info(atomvm_version) -> <<"0.8.0-dev+avmd.host">>;
system_info(system_architecture) -> list_to_binary(erlang:system_info(system_architecture));
system_info(avm_floatsize) -> 8;
system_info(Key) when Key =:= machine; Key =:= process_count; Key =:= port_count; Key =:= atom_count; Key =:= wordsize;
                      Key =:= system_version; Key =:= otp_release; Key =:= break_ignored;
                      Key =:= schedulers; Key =:= schedulers_online; Key =:= emu_flavor ->
    erlang:system_info(Key);
system_info(refc_binary_info) -> [];
system_info(Key) when is_atom(Key) -> undefined;
system_info(Key) -> erlang:error(badarg, [Key]).
