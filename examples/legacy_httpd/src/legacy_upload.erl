%% A streaming upload in atomvm_lib's style (its OTA example works the same way): the body arrives in
%% pieces, each answered `{noreply, State}', and the handler knows it is done from Content-Length.
-module(legacy_upload).

-behavior(httpd_handler).
-export([init_handler/2, handle_http_req/2]).

init_handler(_PathSuffix, _Config) ->
    {ok, #{bytes => 0, pieces => 0, crc => 0}}.

handle_http_req(#{method := put, headers := Headers, body := Body}, State) ->
    #{bytes := Bytes, pieces := Pieces, crc := Crc} = State,
    State2 = State#{bytes := Bytes + byte_size(Body), pieces := Pieces + 1, crc := erlang:crc32(Crc, Body)},
    Length = binary_to_integer(maps:get(<<"Content-Length">>, Headers, <<"0">>)),
    case maps:get(bytes, State2) < Length of
        true ->
            {noreply, State2};
        false ->
            {close, #{"Content-Type" => "application/json"}, json_encoder:encode(State2)}
    end;
handle_http_req(_Request, _State) ->
    {error, not_found}.
