%% @doc Handler: the device's OTA and info endpoints, mounted by `httpd_server' under `/_avm/' when
%% the config has `ota => #{app => App}' (docs/ota.md):
%%
%%   GET  /_avm/info          app, version, bundle SHA-256, partitions, memory, uptime, platform
%%   GET  /_avm/ota/nonce     a fresh nonce, the device id and target partition, an upload to resume
%%   PUT  /_avm/ota           the image (headers below), streamed onto the partition that is not running
%%   POST /_avm/ota/confirm   the running app is good (ends a trial boot)
%%
%% The upload's headers: `x-avm-sha256' (hex), `x-avm-size', `x-avm-nonce', `x-avm-signature' (hex
%% DER over `ota_trust:message/4'), optional `x-avm-offset' (resume) and `x-avm-device'. Nothing
%% switches until every byte is on flash and hashes to the signed SHA-256; the image is never whole
%% in RAM (4 KB pieces: erase, write, hash).
-module(httpd_ota).
-behaviour(httpd_handler).

-export([handle/2, confirm/0]).

-define(PIECE, 4096).
-define(SECTOR, 4096).

%% @doc For an app that confirms itself (`ota => #{confirm => app}'): call once it works.
-spec confirm() -> {ok, map()}.
confirm() -> ota_agent:confirm().

handle(Req = #{method := Method, path_info := PathInfo}, _Opts) ->
    route(Method, PathInfo, Req);
handle(_Req, _Opts) ->
    json(404, #{<<"error">> => <<"not found">>}).

route(<<"GET">>, [<<"info">>], _Req) -> json(200, ota_agent:info());
route(<<"HEAD">>, [<<"info">>], _Req) -> json(200, ota_agent:info());
route(<<"GET">>, [<<"ota">>, <<"nonce">>], _Req) -> result(ota_agent:nonce());
route(<<"POST">>, [<<"ota">>, <<"confirm">>], _Req) -> result(ota_agent:confirm());
route(<<"PUT">>, [<<"ota">>], Req) -> upload(Req);
route(_, [<<"info">>], _) -> not_allowed(<<"GET, HEAD">>);
route(_, [<<"ota">>, <<"nonce">>], _) -> not_allowed(<<"GET">>);
route(_, [<<"ota">>, <<"confirm">>], _) -> not_allowed(<<"POST">>);
route(_, [<<"ota">>], _) -> not_allowed(<<"PUT">>);
route(_, _, _) -> json(404, #{<<"error">> => <<"not found">>}).

%% ---- the upload ----

upload(Req) ->
    case claims(Req) of
        {error, Reason} ->
            error_reply(400, Reason);
        {ok, Claims = #{size := Size, offset := Offset}} ->
            case body_length(Req) of
                N when N =/= chunked, N =/= Size - Offset ->
                    error_reply(400, <<"the body must be the image from x-avm-offset to x-avm-size (",
                                       (integer_to_binary(Size - Offset))/binary, " bytes)">>);
                _ ->
                    case ota_agent:begin_upload(Claims) of
                        {ok, Target} -> stream(Req, Target, Claims);
                        {error, Status, Reason} -> error_reply(Status, Reason)
                    end
            end
    end.

%% An upload under way: where it goes, how far it is, what it must hash to.
-record(up, {target :: binary(), at :: non_neg_integer(), erased :: non_neg_integer(),
             size :: non_neg_integer(), sha :: binary(), ctx :: term()}).

stream(Req, Target, #{sha := Sha, size := Size, offset := Offset}) ->
    case ota_image:hash_prefix(Target, Offset, crypto:hash_init(sha256)) of
        {ok, Ctx} ->
            %% a resumed upload starts inside a sector the first attempt already erased
            Erased = (Offset + ?SECTOR - 1) div ?SECTOR * ?SECTOR,
            Up = #up{target = Target, at = Offset, erased = Erased, size = Size, sha = Sha, ctx = Ctx},
            pieces(httpd_handler:read_body(Req, #{length => ?PIECE}), Up);
        {error, Reason} ->
            error_reply(500, <<"cannot read back the partial image: ", (reason(Reason))/binary>>)
    end.

pieces({error, Reason}, #up{at = At, size = Size}) ->
    %% the client went away or stalled: what is on flash stays for a resume; the connection closes
    error_reply(400, <<"upload cut at ", (integer_to_binary(At))/binary, " of ", (integer_to_binary(Size))/binary,
                       " bytes (", (reason(Reason))/binary, "); resume from x-avm-offset ",
                       (integer_to_binary(At))/binary>>);
pieces({_Kind, Bin, Req}, #up{at = At, size = Size}) when At + byte_size(Bin) > Size ->
    error_reply(400, <<"the body is longer than x-avm-size">>, Req);
pieces({_Kind, Bin, Req}, #up{at = 0}) when Bin =/= <<>>, byte_size(Bin) < 24 ->
    error_reply(422, <<"refused: not an AtomVM bundle (no packbeam header)">>, Req);
pieces({Kind, Bin, Req}, Up = #up{at = 0}) when Bin =/= <<>> ->
    case ota_image:starts_like_bundle(Bin) of
        true -> write_piece(Kind, Bin, Req, Up);
        false -> error_reply(422, <<"refused: not an AtomVM bundle (no packbeam header)">>, Req)
    end;
pieces({Kind, Bin, Req}, Up) ->
    write_piece(Kind, Bin, Req, Up).

write_piece(Kind, Bin, Req, Up = #up{target = Target, at = At, erased = Erased0, ctx = Ctx}) ->
    End = At + byte_size(Bin),
    case erase_to(Target, Erased0, End) of
        {ok, Erased} ->
            case device_flash:write(Target, At, Bin) of
                ok ->
                    ok = ota_agent:progress(End),
                    Up2 = Up#up{at = End, erased = Erased, ctx = crypto:hash_update(Ctx, Bin)},
                    case Kind of
                        more -> pieces(httpd_handler:read_body(Req, #{length => ?PIECE}), Up2);
                        ok -> finish(Req, Up2)
                    end;
                {error, Reason} ->
                    error_reply(500, <<"flash write failed: ", (reason(Reason))/binary>>, Req)
            end;
        {error, Reason} ->
            error_reply(500, <<"flash erase failed: ", (reason(Reason))/binary>>, Req)
    end.

erase_to(_Target, Erased, End) when Erased >= End -> {ok, Erased};
erase_to(Target, Erased, End) ->
    Len = (End - Erased + ?SECTOR - 1) div ?SECTOR * ?SECTOR,
    case device_flash:erase(Target, Erased, Len) of
        ok -> {ok, Erased + Len};
        Error -> Error
    end.

finish(Req, #up{at = End, size = Size}) when End < Size ->
    error_reply(400, <<"the body ended at ", (integer_to_binary(End))/binary, " of ", (integer_to_binary(Size))/binary,
                       " bytes; resume from x-avm-offset ", (integer_to_binary(End))/binary>>, Req);
finish(Req, #up{sha = Sha, ctx = Ctx}) ->
    case ota_trust:hex(crypto:hash_final(Ctx)) of
        Sha ->
            {ok, Reply} = ota_agent:commit(),
            {reply, 200, [{<<"content-type">>, <<"application/json">>}], httpd_json:encode(Reply), Req};
        Got ->
            ok = ota_agent:discard(),
            error_reply(422, <<"refused: the image hashes to ", Got/binary, ", not the signed ", Sha/binary,
                               "; nothing was switched">>, Req)
    end.

%% ---- headers ----

claims(Req) ->
    H = fun(Name) -> httpd_handler:header(Name, Req) end,
    Sha = H(<<"x-avm-sha256">>),
    Nonce = H(<<"x-avm-nonce">>),
    SigHex = H(<<"x-avm-signature">>),
    if
        Sha =:= undefined -> {error, <<"missing header x-avm-sha256">>};
        Nonce =:= undefined -> {error, <<"missing header x-avm-nonce">>};
        SigHex =:= undefined -> {error, <<"refused: unsigned upload (missing header x-avm-signature)">>};
        true ->
            case {hex_of(Sha, 32), int(H(<<"x-avm-size">>)), int(default(H(<<"x-avm-offset">>), <<"0">>)),
                  ota_trust:unhex(SigHex)} of
                {error, _, _, _} -> {error, <<"x-avm-sha256 must be 64 hex digits">>};
                {_, error, _, _} -> {error, <<"x-avm-size must be a byte count">>};
                {_, _, error, _} -> {error, <<"x-avm-offset must be a byte count">>};
                {_, _, _, error} -> {error, <<"x-avm-signature must be hex">>};
                {_, Size, Offset, _} when Offset > Size ->
                    {error, <<"x-avm-offset is past x-avm-size">>};
                {ShaLower, Size, Offset, Sig} ->
                    {ok, #{sha => ShaLower, size => Size, offset => Offset, sig => Sig,
                           nonce => lower(Nonce), device => H(<<"x-avm-device">>)}}
            end
    end.

hex_of(Hex, Bytes) ->
    case ota_trust:unhex(Hex) of
        Bin when byte_size(Bin) =:= Bytes -> ota_trust:hex(Bin);
        _ -> error
    end.

lower(Hex) ->
    case ota_trust:unhex(Hex) of
        error -> Hex;
        Bin -> ota_trust:hex(Bin)
    end.

int(undefined) -> error;
int(Bin) ->
    try binary_to_integer(Bin) of
        N when N >= 0 -> N;
        _ -> error
    catch
        _:_ -> error
    end.

default(undefined, D) -> D;
default(V, _) -> V.

body_length(#{body := {length, N}}) -> N;
body_length(#{body := chunked}) -> chunked;
body_length(_) -> 0.

%% ---- replies ----

result({ok, Map}) -> json(200, Map);
result({error, Status, Reason}) -> error_reply(Status, Reason).

json(Status, Map) ->
    {reply, Status, [{<<"content-type">>, <<"application/json">>}, {<<"cache-control">>, <<"no-store">>}],
     httpd_json:encode(Map)}.

error_reply(Status, Reason) ->
    json_close(Status, Reason).

%% After a refused or broken upload the rest of its body is not worth reading: close.
error_reply(Status, Reason, Req) ->
    {reply, S, H, B} = json_close(Status, Reason),
    {reply, S, H, B, Req}.

json_close(Status, Reason) ->
    {reply, Status, [{<<"content-type">>, <<"application/json">>}, {<<"connection">>, <<"close">>}],
     httpd_json:encode(#{<<"error">> => Reason})}.

not_allowed(Allow) ->
    {reply, 405, [{<<"allow">>, Allow}, {<<"content-type">>, <<"application/json">>}],
     httpd_json:encode(#{<<"error">> => <<"method not allowed">>})}.

reason(R) when is_binary(R) -> R;
reason(R) when is_atom(R) -> atom_to_binary(R, latin1);
reason(_) -> <<"error">>.
