%% @doc Process (gen_server, registered `ota_agent'): the device's side of OTA between requests —
%% the nonces it handed out, the upload in progress (how much of it is on flash, for a resume), the
%% trial boot of a new app, and the device facts `/_avm/info' reports. `httpd_ota' (the handler,
%% in the connection process) streams the bytes; this process decides and switches. docs/ota.md.
%%
%% Trial boot: the app that wrote an update leaves NVS `avmd/trial' = `To From Sha'. When the new
%% app boots from `To', its agent at once points `atomvm/boot_path' back at `From', so a crash, a hang
%% or any reboot before it is confirmed boots the old app; confirming points it at `To' again.
-module(ota_agent).
-behaviour(gen_server).

-export([start/1, info/0, nonce/0, begin_upload/1, progress/1, commit/0, discard/0, confirm/0]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2, terminate/2, code_change/3]).

-define(NONCE_TTL, 600000).
-define(MAX_NONCES, 4).
-define(DEFAULT_TRIAL_MS, 60000).
%% Time for the commit reply to leave before the VM goes.
-define(RESTART_DELAY, 300).

-record(s, {
    app :: atom(),
    key :: binary() | undefined,
    device :: binary(),
    running :: binary(),
    running_sha :: binary() | undefined,
    target :: {binary(), non_neg_integer()} | undefined,
    started :: integer(),
    nonces = [] :: [{binary(), integer()}],
    %% {ShaHex, Size, Written, NonceHex, Owner | none}
    upload :: tuple() | undefined,
    trial :: {binary(), binary(), binary()} | undefined,
    last :: binary() | undefined
}).

%% @doc Starts the agent once (a second call finds it running). `Opts': `app' (whose priv files hold
%% the key and the build's name and version), `trial_timeout' (ms a new app has to be confirmed).
-spec start(map()) -> ok | {error, term()}.
start(Opts) ->
    case whereis(ota_agent) of
        undefined ->
            case gen_server:start({local, ota_agent}, ?MODULE, Opts, []) of
                {ok, _} -> ok;
                {error, {already_started, _}} -> ok;
                Error -> Error
            end;
        _ ->
            ok
    end.

%% @doc What `/_avm/info' reports.
-spec info() -> map().
info() -> gen_server:call(ota_agent, info, 30000).

%% @doc A fresh nonce and what a pusher needs to sign and resume: device, target, upload so far.
-spec nonce() -> {ok, map()} | {error, 400..599, binary()}.
nonce() -> gen_server:call(ota_agent, nonce).

%% @doc Checks an upload's claims (key, size, nonce, signature, resume offset) and takes the upload
%% slot for the calling process: `{ok, TargetPartition}'.
-spec begin_upload(map()) -> {ok, binary()} | {error, 400..599, binary()}.
begin_upload(Claims) -> gen_server:call(ota_agent, {begin_upload, Claims}, 30000).

%% @doc `Written' bytes of the upload are on flash.
-spec progress(non_neg_integer()) -> ok.
progress(Written) -> gen_server:cast(ota_agent, {progress, self(), Written}).

%% @doc The whole image is on flash and its hash matched: switch to it and restart shortly.
-spec commit() -> {ok, map()}.
commit() -> gen_server:call(ota_agent, {commit, self()}, 30000).

%% @doc The upload is unusable (its hash did not match): forget it, nothing switches.
-spec discard() -> ok.
discard() -> gen_server:call(ota_agent, {discard, self()}).

%% @doc The running app is good: keep booting it. A no-op outside a trial boot.
-spec confirm() -> {ok, map()}.
confirm() -> gen_server:call(ota_agent, confirm, 30000).

%% ---- gen_server ----

init(Opts) ->
    App = maps:get(app, Opts, undefined),
    Running = device_flash:running_partition(),
    S0 = #s{
        app = App,
        key = ota_trust:public_key(App),
        device = device_flash:device_id(),
        running = Running,
        target = target(Running, device_flash:partitions()),
        started = erlang:monotonic_time(millisecond),
        last = device_flash:nvs_get(avmd, last_update)
    },
    {ok, trial(S0, maps:get(trial_timeout, Opts, trial_timeout_env()))}.

handle_call(info, _From, S) ->
    S2 = running_sha(S),
    %% a fact the platform cannot give must not take OTA down with it
    try info_map(S2) of
        Info -> {reply, Info, S2}
    catch
        _:Reason -> {reply, #{<<"error">> => iolist_to_binary(io_lib:format("~p", [Reason]))}, S2}
    end;
handle_call(nonce, _From, S = #s{key = undefined}) ->
    {reply, no_key(), S};
handle_call(nonce, _From, S = #s{target = undefined}) ->
    {reply, no_target(), S};
handle_call(nonce, _From, S) ->
    Now = erlang:monotonic_time(millisecond),
    Nonce = ota_trust:hex(crypto:strong_rand_bytes(16)),
    Live = [N || N = {_, Exp} <- S#s.nonces, Exp > Now],
    Nonces = lists:sublist([{Nonce, Now + ?NONCE_TTL} | Live], ?MAX_NONCES),
    S2 = running_sha(S#s{nonces = Nonces}),
    {Target, Size} = S2#s.target,
    Reply = #{
        <<"nonce">> => Nonce, <<"device">> => S2#s.device, <<"partition">> => S2#s.running,
        <<"target">> => Target, <<"max_size">> => Size, <<"sha256">> => null_or(S2#s.running_sha),
        <<"key_id">> => ota_trust:key_id(S2#s.key), <<"upload">> => upload_map(S2#s.upload)
    },
    {reply, {ok, Reply}, S2};
handle_call({begin_upload, Claims}, {Pid, _}, S) ->
    case check_upload(Claims, S) of
        {ok, Upload} ->
            _ = erlang:monitor(process, Pid),
            {Target, _} = S#s.target,
            {reply, {ok, Target}, S#s{upload = setelement(5, Upload, Pid)}};
        {error, _, _} = Error ->
            {reply, Error, S}
    end;
handle_call({commit, Pid}, _From, S = #s{upload = {Sha, _Size, _W, Nonce, Pid}, target = {Target, _}}) ->
    %% The trial record goes first: if power fails between the two writes, the old app still boots.
    ok = device_flash:nvs_put(avmd, trial, <<Target/binary, " ", (S#s.running)/binary, " ", Sha/binary>>),
    ok = device_flash:nvs_put(atomvm, boot_path, device_flash:partition_path(Target)),
    erlang:send_after(?RESTART_DELAY, self(), restart),
    Nonces = lists:keydelete(Nonce, 1, S#s.nonces),
    {reply, {ok, #{<<"status">> => <<"restarting">>, <<"partition">> => Target, <<"sha256">> => Sha}},
     S#s{upload = undefined, nonces = Nonces}};
handle_call({commit, _Pid}, _From, S) ->
    {reply, {error, 409, <<"no upload of this connection to commit">>}, S};
handle_call({discard, Pid}, _From, S = #s{upload = {_, _, _, _, Pid}}) ->
    {reply, ok, S#s{upload = undefined}};
handle_call({discard, _}, _From, S) ->
    {reply, ok, S};
handle_call(confirm, _From, S = #s{trial = undefined}) ->
    {reply, {ok, #{<<"status">> => <<"confirmed">>, <<"trial">> => false}}, S};
handle_call(confirm, _From, S = #s{trial = {To, _From2, Sha}}) ->
    ok = device_flash:nvs_put(atomvm, boot_path, device_flash:partition_path(To)),
    device_flash:nvs_erase(avmd, trial),
    Last = <<"confirmed ", Sha/binary>>,
    _ = device_flash:nvs_put(avmd, last_update, Last),
    {reply, {ok, #{<<"status">> => <<"confirmed">>, <<"trial">> => false}}, S#s{trial = undefined, last = Last}};
handle_call(_Other, _From, S) ->
    {reply, {error, 400, <<"unknown request">>}, S}.

handle_cast({progress, Pid, Written}, S = #s{upload = {Sha, Size, _, Nonce, Pid}}) ->
    {noreply, S#s{upload = {Sha, Size, Written, Nonce, Pid}}};
handle_cast(_, S) ->
    {noreply, S}.

handle_info({'DOWN', _, process, Pid, _}, S = #s{upload = {Sha, Size, W, Nonce, Pid}}) ->
    %% The connection went away mid-upload: what is on flash stays, for a resume.
    {noreply, S#s{upload = {Sha, Size, W, Nonce, none}}};
handle_info(trial_expired, S = #s{trial = {_, _, _}}) ->
    io:format("ota: the new app was not confirmed in time: restarting into the previous one~n"),
    device_flash:restart(),
    {noreply, S};
handle_info(restart, S) ->
    io:format("ota: restarting into the new app~n"),
    device_flash:restart(),
    {noreply, S};
handle_info(_, S) ->
    {noreply, S}.

terminate(_, _) -> ok.

code_change(_, S, _) -> {ok, S}.

%% ---- checks ----

check_upload(_, #s{key = undefined}) -> no_key();
check_upload(_, #s{target = undefined}) -> no_target();
check_upload(#{size := Size}, #s{target = {Target, Max}}) when Size > Max ->
    {error, 413, <<"image of ", (integer_to_binary(Size))/binary, " bytes exceeds partition ", Target/binary,
                   " (", (integer_to_binary(Max))/binary, " bytes)">>};
check_upload(#{device := Aimed}, #s{device = Me}) when Aimed =/= undefined, Aimed =/= Me ->
    {error, 403, <<"refused: the upload is for device ", Aimed/binary, ", this is ", Me/binary>>};
check_upload(#{nonce := Nonce, sha := Sha, size := Size, sig := Sig, offset := Offset}, S) ->
    Now = erlang:monotonic_time(millisecond),
    Msg = ota_trust:message(S#s.device, Nonce, Sha, Size),
    case lists:keyfind(Nonce, 1, S#s.nonces) of
        {_, Exp} when Exp > Now ->
            case ota_trust:verify(Msg, Sig, S#s.key) of
                false ->
                    {error, 403, <<"refused: the signature does not verify with this device's key ",
                                   (ota_trust:key_id(S#s.key))/binary>>};
                true when S#s.trial =/= undefined ->
                    %% the other partition holds the app to go back to: not to be written until
                    %% this one is confirmed
                    {_, From, _} = S#s.trial,
                    {error, 409, <<"a trial boot is in progress: confirm it (POST /_avm/ota/confirm) "
                                   "or let it roll back to ", From/binary, " first">>};
                true ->
                    resume(Offset, Sha, Size, Nonce, S#s.upload)
            end;
        _ ->
            {error, 403, <<"refused: nonce unknown, used or expired (ask /_avm/ota/nonce for a fresh one)">>}
    end.

resume(0, Sha, Size, Nonce, Upload) when Upload =:= undefined; element(5, Upload) =:= none ->
    {ok, {Sha, Size, 0, Nonce, none}};
resume(Offset, Sha, Size, Nonce, {Sha, Size, Written, _, none}) when Offset =:= Written ->
    {ok, {Sha, Size, Written, Nonce, none}};
resume(_, _, _, _, {_, _, _, _, Pid}) when is_pid(Pid) ->
    {error, 409, <<"another upload is in progress">>};
resume(Offset, _, _, _, Upload) ->
    Have = case Upload of
        {_, _, W, _, _} -> W;
        undefined -> 0
    end,
    {error, 409, <<"resume offset ", (integer_to_binary(Offset))/binary, " does not match the ",
                   (integer_to_binary(Have))/binary, " bytes this device has of that image">>}.

no_key() -> {error, 403, <<"OTA refused: this device has no OTA public key (docs/ota.md)">>}.

no_target() ->
    {error, 503, <<"OTA refused: no second app partition to write (docs/ota.md, partition table)">>}.

%% The app partition that is not running: a data partition named *.avm other than boot.avm.
target(Running, Parts) ->
    case [P || {Name, _} = P <- Parts, Name =/= Running, Name =/= <<"boot.avm">>, is_app_slot(Name)] of
        [T | _] -> T;
        [] -> undefined
    end.

is_app_slot(Name) ->
    Size = byte_size(Name),
    Size > 4 andalso binary:part(Name, Size - 4, 4) =:= <<".avm">>.

%% ---- trial boot ----

trial(S = #s{running = Running}, TimeoutMs) ->
    case device_flash:nvs_get(avmd, trial) of
        undefined ->
            S;
        Record ->
            case binary:split(Record, <<" ">>, [global]) of
                [Running, From, Sha] ->
                    %% arm the rollback before anything of the new app can fail
                    ok = device_flash:nvs_put(atomvm, boot_path, device_flash:partition_path(From)),
                    erlang:send_after(TimeoutMs, self(), trial_expired),
                    io:format("ota: trial boot of ~s; confirm within ~p ms or the next boot is ~s~n",
                              [Sha, TimeoutMs, From]),
                    S#s{trial = {Running, From, Sha}};
                [_To, _From, Sha] ->
                    %% booted the old app: the new one failed before it was confirmed
                    device_flash:nvs_erase(avmd, trial),
                    Last = <<"rolled_back ", Sha/binary>>,
                    _ = device_flash:nvs_put(avmd, last_update, Last),
                    io:format("ota: ~s was not confirmed; running the previous app~n", [Sha]),
                    S#s{last = Last};
                _ ->
                    device_flash:nvs_erase(avmd, trial),
                    S
            end
    end.

trial_timeout_env() ->
    case os:getenv("AVMD_OTA_TRIAL_MS") of
        false -> ?DEFAULT_TRIAL_MS;
        Ms -> list_to_integer(Ms)
    end.

%% ---- info ----

info_map(S) ->
    {Name, Version} = meta(S#s.app),
    #{
        <<"device">> => S#s.device,
        <<"app">> => Name,
        <<"version">> => Version,
        <<"sha256">> => null_or(S#s.running_sha),
        <<"partition">> => S#s.running,
        <<"partitions">> => [#{<<"name">> => N, <<"size">> => Sz} || {N, Sz} <- device_flash:partitions()],
        <<"target">> => case S#s.target of
            {T, _} -> T;
            undefined -> null
        end,
        <<"platform">> => atom_to_binary(device_flash:platform(), latin1),
        <<"memory">> => memory(),
        <<"uptime_ms">> => erlang:monotonic_time(millisecond) - S#s.started,
        <<"key_id">> => case S#s.key of
            undefined -> null;
            K -> ota_trust:key_id(K)
        end,
        <<"trial">> => S#s.trial =/= undefined,
        <<"last_update">> => last_map(S#s.last)
    }.

last_map(undefined) -> null;
last_map(Last) ->
    case binary:split(Last, <<" ">>) of
        [Result, Sha] -> #{<<"result">> => Result, <<"sha256">> => Sha};
        _ -> null
    end.

upload_map(undefined) -> null;
upload_map({Sha, Size, Written, _, _}) -> #{<<"sha256">> => Sha, <<"size">> => Size, <<"written">> => Written}.

null_or(undefined) -> null;
null_or(V) -> V.

memory() ->
    case device_flash:backend() of
        esp -> #{<<"free_heap">> => erlang:system_info(esp32_free_heap_size)};
        %% AtomVM's erlang:memory/1 knows only `binary'
        _ -> #{<<"binary">> => erlang:memory(binary), <<"processes">> => erlang:system_info(process_count)}
    end.

meta(App) ->
    Default = {case App of
                   undefined -> null;
                   _ -> atom_to_binary(App, latin1)
               end, null},
    case App =/= undefined andalso atomvm:read_priv(App, <<"avmd/meta">>) of
        Bin when is_binary(Bin) ->
            Lines = [binary:split(L, <<"=">>) || L <- binary:split(Bin, <<"\n">>, [global, trim_all])],
            {meta_value(<<"name">>, Lines, element(1, Default)), meta_value(<<"version">>, Lines, null)};
        _ ->
            Default
    end.

meta_value(K, Lines, Default) ->
    case [V || [K2, V] <- Lines, K2 =:= K] of
        [V | _] -> V;
        [] -> Default
    end.

%% The SHA-256 of the running bundle, read off its partition once (the bytes up to its end section).
running_sha(S = #s{running_sha = Sha}) when is_binary(Sha) -> S;
running_sha(S = #s{running = Part}) ->
    case ota_image:bundle_length(Part) of
        {ok, Len} -> S#s{running_sha = ota_image:hash_partition(Part, Len)};
        _ -> S
    end.
