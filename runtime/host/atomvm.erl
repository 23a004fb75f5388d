%% @doc Host-only stand-in for AtomVM's `atomvm' module, so device code runs unchanged on OTP.
%% Process-free: priv files come from the `avmd_priv' ETS table when the host harness has loaded a
%% bundle into it (keys `{AppAtom, PathBinary}'), else from the app's priv dir on disk.
%% Never packed into a bundle.
-module(atomvm).
-export([platform/0, read_priv/2, add_priv/3, random/0, rand_bytes/1]).

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
