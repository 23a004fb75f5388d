%% @doc Pure (no process): the device's flash and settings, the same calls on every platform. Two
%% backends below one API:
%%
%% - `esp': an ESP32 running AtomVM: `esp:partition_*' (data partitions, 4 KB erase sectors), NVS
%%   through `esp:nvs_*', `esp:restart/0'.
%% - `{files, Dir}': when `AVMD_FLASH_DIR' names a directory (`avmd sim' sets it), on AtomVM
%%   generic_unix (`atomvm:posix_*') and host OTP (the `atomvm' shim) alike: `Dir/partitions' lists
%%   `Name Size' lines, each partition is the file `Dir/Name', each NVS entry the file `Dir/nvs/Ns.Key'.
%%   A restart ends the VM (its start process on AtomVM; the harness on OTP), and whoever runs the
%%   device boots it again from `atomvm/boot_path', as the ESP32's `esp32init' does.
%%
%% Anything else (an `avmd run' on the host without a flash directory) is `none': no partitions.
-module(device_flash).

-export([backend/0, partitions/0, read/3, write/3, erase/3, nvs_get/2, nvs_put/3, nvs_erase/2,
         restart/0, boot_path/0, running_partition/0, partition_path/1, device_id/0, platform/0]).

-define(SECTOR, 4096).
-define(DEFAULT_BOOT_PATH, <<"/dev/partition/by-name/main.avm">>).
-define(BY_NAME, "/dev/partition/by-name/").

-type backend() :: esp | {files, binary()} | none.
-export_type([backend/0]).

%% @doc Which flash this VM has.
-spec backend() -> backend().
backend() ->
    case os:getenv("AVMD_FLASH_DIR") of
        Dir when is_list(Dir), Dir =/= "" -> {files, list_to_binary(Dir)};
        _ ->
            case {erlang:system_info(machine), platform()} of
                {"ATOM", esp32} -> esp;
                _ -> none
            end
    end.

%% @doc `atomvm:platform/0' (`generic_unix', `esp32', ...).
-spec platform() -> atom().
platform() -> atomvm:platform().

%% @doc The data partitions: `[{Name, Size}]', in table order.
-spec partitions() -> [{binary(), non_neg_integer()}].
partitions() ->
    case backend() of
        esp -> [{Name, Size} || {Name, 1, _Sub, _Off, Size, _} <- esp:partition_list()];
        {files, Dir} -> file_partitions(Dir);
        none -> []
    end.

%% @doc `Len' bytes at `Offset' (fewer at the end of what was ever written, on files).
-spec read(binary(), non_neg_integer(), non_neg_integer()) -> {ok, binary()} | {error, term()}.
read(Name, Offset, Len) ->
    case backend() of
        esp -> esp:partition_read(Name, Offset, Len);
        {files, Dir} ->
            with_file(part_file(Dir, Name), [o_rdonly], fun(Fd) ->
                case atomvm:posix_pread(Fd, Len, Offset) of
                    {ok, Bin} -> {ok, Bin};
                    eof -> {ok, <<>>};
                    Error -> Error
                end
            end);
        none -> {error, no_flash}
    end.

%% @doc Writes `Data' at `Offset' (into erased flash: call `erase/3' first).
-spec write(binary(), non_neg_integer(), binary()) -> ok | {error, term()}.
write(Name, Offset, Data) ->
    case backend() of
        esp -> esp:partition_write(Name, Offset, Data);
        {files, Dir} ->
            with_file(part_file(Dir, Name), [o_wronly, o_creat], fun(Fd) -> pwrite_all(Fd, Data, Offset) end);
        none -> {error, no_flash}
    end.

%% @doc Erases `Len' bytes at `Offset'; both must be multiples of 4096 (flash sectors).
-spec erase(binary(), non_neg_integer(), non_neg_integer()) -> ok | {error, term()}.
erase(_Name, Offset, Len) when Offset rem ?SECTOR =/= 0; Len rem ?SECTOR =/= 0 ->
    {error, unaligned};
erase(Name, Offset, Len) ->
    case backend() of
        esp -> esp:partition_erase_range(Name, Offset, Len);
        {files, Dir} ->
            Ones = binary:copy(<<255>>, ?SECTOR),
            with_file(part_file(Dir, Name), [o_wronly, o_creat], fun(Fd) -> erase_loop(Fd, Ones, Offset, Offset + Len) end);
        none -> {error, no_flash}
    end.

erase_loop(_Fd, _Ones, At, End) when At >= End -> ok;
erase_loop(Fd, Ones, At, End) ->
    case pwrite_all(Fd, Ones, At) of
        ok -> erase_loop(Fd, Ones, At + ?SECTOR, End);
        Error -> Error
    end.

%% @doc A setting, or `undefined'.
-spec nvs_get(atom(), atom()) -> binary() | undefined.
nvs_get(Ns, Key) ->
    case backend() of
        esp -> esp:nvs_get_binary(Ns, Key);
        {files, Dir} ->
            case with_file(nvs_file(Dir, Ns, Key), [o_rdonly], fun read_all/1) of
                {ok, Bin} -> Bin;
                _ -> undefined
            end;
        none -> undefined
    end.

%% @doc Stores a setting; on files by write-then-rename, so a cut leaves the old value or the new.
-spec nvs_put(atom(), atom(), binary()) -> ok | {error, term()}.
nvs_put(Ns, Key, Value) when is_binary(Value) ->
    case backend() of
        esp -> esp:nvs_put_binary(Ns, Key, Value);
        {files, Dir} ->
            _ = atomvm:posix_mkdir(binary_to_list(<<Dir/binary, "/nvs">>), 8#755),
            File = nvs_file(Dir, Ns, Key),
            Tmp = File ++ ".tmp",
            case with_file(Tmp, [o_wronly, o_creat, o_trunc], fun(Fd) -> pwrite_all(Fd, Value, 0) end) of
                ok -> atomvm:posix_rename(Tmp, File);
                Error -> Error
            end;
        none -> {error, no_flash}
    end.

%% @doc Removes a setting (absent is fine).
-spec nvs_erase(atom(), atom()) -> ok.
nvs_erase(Ns, Key) ->
    _ = case backend() of
        esp -> catch esp:nvs_erase_key(Ns, Key);
        {files, Dir} -> atomvm:posix_unlink(nvs_file(Dir, Ns, Key));
        none -> ok
    end,
    ok.

%% @doc Reboots the device; returns only where there is nothing to reboot.
-spec restart() -> ok.
restart() ->
    case {backend(), erlang:system_info(machine)} of
        {esp, _} -> esp:restart();
        {{files, _}, "ATOM"} ->
            %% AtomVM ends when its first process (the one running start/0) does
            exit(lists:min(erlang:processes()), kill),
            ok;
        {{files, _}, _} ->
            %% host OTP: the harness's `esp' shim ends the VM when a flash directory is set
            esp:restart();
        {none, _} -> ok
    end.

%% @doc NVS `atomvm/boot_path': the pack the VM boots (AtomVM's default when unset).
-spec boot_path() -> binary().
boot_path() ->
    case nvs_get(atomvm, boot_path) of
        undefined -> ?DEFAULT_BOOT_PATH;
        Path -> Path
    end.

%% @doc The partition `boot_path/0' names.
-spec running_partition() -> binary().
running_partition() ->
    case boot_path() of
        <<?BY_NAME, Name/binary>> -> Name;
        Other -> Other
    end.

%% @doc The `boot_path' value that boots partition `Name'.
-spec partition_path(binary()) -> binary().
partition_path(Name) -> <<?BY_NAME, Name/binary>>.

%% @doc NVS `avmd/device_id' (set at provisioning, or by `avmd sim'); else the Wi-Fi MAC on an
%% ESP32; else `unprovisioned'.
-spec device_id() -> binary().
device_id() ->
    case {nvs_get(avmd, device_id), backend()} of
        {undefined, esp} -> mac_id();
        {undefined, _} -> <<"unprovisioned">>;
        {Id, _} -> Id
    end.

mac_id() ->
    case catch esp:get_default_mac() of
        {ok, <<A, B, C, D, E, F>>} -> ota_trust:hex(<<A, B, C, D, E, F>>);
        _ -> <<"unprovisioned">>
    end.

%% ---- files ----

file_partitions(Dir) ->
    case with_file(binary_to_list(<<Dir/binary, "/partitions">>), [o_rdonly], fun read_all/1) of
        {ok, Bin} ->
            [{Name, binary_to_integer(Size)}
             || Line <- binary:split(Bin, <<"\n">>, [global, trim_all]),
                [Name, Size] <- [binary:split(Line, <<" ">>)]];
        _ -> []
    end.

part_file(Dir, Name) -> binary_to_list(<<Dir/binary, "/", Name/binary>>).

nvs_file(Dir, Ns, Key) ->
    binary_to_list(<<Dir/binary, "/nvs/", (atom_to_binary(Ns, latin1))/binary, ".", (atom_to_binary(Key, latin1))/binary>>).

with_file(Path, Flags, Fun) ->
    case atomvm:posix_open(Path, Flags, 8#644) of
        {ok, Fd} ->
            try Fun(Fd) after atomvm:posix_close(Fd) end;
        Error ->
            Error
    end.

pwrite_all(_Fd, <<>>, _At) -> ok;
pwrite_all(Fd, Data, At) ->
    case atomvm:posix_pwrite(Fd, Data, At) of
        {ok, N} when N >= byte_size(Data) -> ok;
        {ok, N} ->
            <<_:N/binary, Rest/binary>> = Data,
            pwrite_all(Fd, Rest, At + N);
        Error -> Error
    end.

read_all(Fd) -> read_all(Fd, []).

read_all(Fd, Acc) ->
    case atomvm:posix_read(Fd, 4096) of
        {ok, Bin} -> read_all(Fd, [Bin | Acc]);
        eof -> {ok, iolist_to_binary(lists:reverse(Acc))};
        Error -> Error
    end.
