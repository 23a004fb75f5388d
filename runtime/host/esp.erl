%% @doc Pure (no process of its own): host-only stand-in for AtomVM's `esp' module (ESP32 NIFs), so device code runs unchanged on OTP.
%% Pure functions over a state file: NVS entries persist in `nvs.term' beside the running bundle
%% (`_build/avmd/'), `restart/0' asks the harness to reboot the app from its bundle, and the partition
%% calls report AtomVM's ESP32 layout (FACTS.md). Never packed into a bundle.
-module(esp).
-export([nvs_get_binary/1, nvs_get_binary/2, nvs_get_binary/3, nvs_fetch_binary/2,
         nvs_put_binary/3, nvs_set_binary/2, nvs_set_binary/3, nvs_erase_key/1, nvs_erase_key/2,
         nvs_erase_all/0, nvs_erase_all/1, nvs_reformat/0,
         restart/0, reset_reason/0, freq_hz/0, get_mac/1, get_default_mac/0, timer_get_time/0,
         partition_list/0, partition_read/3, partition_write/3, partition_erase_range/2,
         partition_erase_range/3]).

%% AtomVM's own NVS namespace, used by the one-argument calls.
-define(NS, atomvm).

-spec nvs_get_binary(atom()) -> binary() | undefined.
nvs_get_binary(Key) -> nvs_get_binary(?NS, Key).

-spec nvs_get_binary(atom(), atom()) -> binary() | undefined.
nvs_get_binary(Ns, Key) -> nvs_get_binary(Ns, Key, undefined).

-spec nvs_get_binary(atom(), atom(), Default) -> binary() | Default.
nvs_get_binary(Ns, Key, Default) ->
    case nvs_fetch_binary(Ns, Key) of
        {ok, Bin} -> Bin;
        {error, not_found} -> Default
    end.

-spec nvs_fetch_binary(atom(), atom()) -> {ok, binary()} | {error, not_found}.
nvs_fetch_binary(Ns, Key) when is_atom(Ns), is_atom(Key) ->
    case maps:find({Ns, Key}, nvs_read()) of
        {ok, Bin} -> {ok, Bin};
        error -> {error, not_found}
    end.

-spec nvs_put_binary(atom(), atom(), binary()) -> ok.
nvs_put_binary(Ns, Key, Value) when is_atom(Ns), is_atom(Key), is_binary(Value) ->
    nvs_write(maps:put({Ns, Key}, Value, nvs_read())).

-spec nvs_set_binary(atom(), binary()) -> ok.
nvs_set_binary(Key, Value) -> nvs_put_binary(?NS, Key, Value).

-spec nvs_set_binary(atom(), atom(), binary()) -> ok.
nvs_set_binary(Ns, Key, Value) -> nvs_put_binary(Ns, Key, Value).

-spec nvs_erase_key(atom()) -> ok.
nvs_erase_key(Key) -> nvs_erase_key(?NS, Key).

-spec nvs_erase_key(atom(), atom()) -> ok.
nvs_erase_key(Ns, Key) -> nvs_write(maps:remove({Ns, Key}, nvs_read())).

-spec nvs_erase_all() -> ok.
nvs_erase_all() -> nvs_erase_all(?NS).

-spec nvs_erase_all(atom()) -> ok.
nvs_erase_all(Ns) -> nvs_write(maps:filter(fun({N, _}, _) -> N =/= Ns end, nvs_read())).

-spec nvs_reformat() -> ok.
nvs_reformat() -> nvs_write(#{}).

%% @doc Reboots the app from its bundle, like a device restart; does not return to the caller.
-spec restart() -> no_return().
restart() ->
    %% A device with its own flash (`avmd sim'): the VM ends and the simulator boots it again from
    %% `atomvm/boot_path', as a real restart would.
    _ = os:getenv("AVMD_FLASH_DIR") =:= false orelse erlang:halt(0),
    application:set_env(avmd_host, reset_reason, esp_rst_sw),
    ok = avmd_host:restart_app(),
    receive after infinity -> ok end.

-spec reset_reason() -> atom().
reset_reason() -> application:get_env(avmd_host, reset_reason, esp_rst_poweron).

-spec freq_hz() -> pos_integer().
freq_hz() -> 240000000.

-spec get_mac(atom()) -> binary().
get_mac(_Interface) -> <<2, 0, 0, 0, 0, 1>>.

-spec get_default_mac() -> {ok, binary()}.
get_default_mac() -> {ok, <<2, 0, 0, 0, 0, 1>>}.

-spec timer_get_time() -> integer().
timer_get_time() -> erlang:monotonic_time(microsecond).

%% @doc AtomVM's ESP32 partition table (FACTS.md): {Name, Type, Subtype, Offset, Size, Props}.
-spec partition_list() -> [{binary(), integer(), integer(), integer(), integer(), list()}].
partition_list() ->
    [{<<"nvs">>, 1, 2, 16#9000, 16#6000, []},
     {<<"factory">>, 0, 0, 16#10000, 16#1C0000, []},
     {<<"boot.avm">>, 1, 1, 16#1D0000, 16#80000, []},
     {<<"main.avm">>, 1, 1, 16#250000, 16#100000, []}].

%% @doc Reading `main.avm' gives the running bundle's bytes; other partitions read as erased flash.
-spec partition_read(binary(), non_neg_integer(), non_neg_integer()) -> {ok, binary()}.
partition_read(<<"main.avm">>, Offset, Len) ->
    case application:get_env(avmd_host, bundle, undefined) of
        Bin when is_binary(Bin), Offset =< byte_size(Bin) ->
            Avail = min(Len, byte_size(Bin) - Offset),
            <<_:Offset/binary, Part:Avail/binary, _/binary>> = Bin,
            {ok, <<Part/binary, (binary:copy(<<255>>, Len - Avail))/binary>>};
        _ -> {ok, binary:copy(<<255>>, Len)}
    end;
partition_read(_Name, _Offset, Len) -> {ok, binary:copy(<<255>>, Len)}.

%% @doc Writes are logged to the console and dropped: the host has no flash.
-spec partition_write(binary(), non_neg_integer(), binary()) -> ok.
partition_write(Name, Offset, Data) ->
    io:format("[esp] partition_write(~s, ~p, ~p bytes) ignored on the host~n", [Name, Offset, byte_size(Data)]).

-spec partition_erase_range(binary(), non_neg_integer()) -> ok.
partition_erase_range(Name, Offset) -> partition_erase_range(Name, Offset, 0).

-spec partition_erase_range(binary(), non_neg_integer(), non_neg_integer()) -> ok.
partition_erase_range(Name, Offset, Size) ->
    io:format("[esp] partition_erase_range(~s, ~p, ~p) ignored on the host~n", [Name, Offset, Size]).

%% ---- NVS file ----

nvs_file() ->
    case avmd_host:state_file("nvs.term") of
        undefined -> filename:join(os:getenv("TMPDIR", "/tmp"), "avmd_nvs.term");
        F -> F
    end.

nvs_read() ->
    case file:read_file(nvs_file()) of
        {ok, Bin} ->
            try binary_to_term(Bin, [safe]) of
                M when is_map(M) -> M;
                _ -> #{}
            catch _:_ -> #{}
            end;
        {error, _} -> #{}
    end.

nvs_write(Map) ->
    File = nvs_file(),
    Tmp = iolist_to_binary([File, ".tmp"]),
    ok = file:write_file(Tmp, term_to_binary(Map)),
    ok = file:rename(Tmp, File).
