%% A WebSocket in atomvm_lib's style: a process of its own pushes to the browser with
%% `httpd_ws_handler:send/2', and messages from the browser get answers.
-module(legacy_ws).

-behavior(httpd_ws_handler).
-export([handle_ws_init/3, handle_ws_message/2]).

handle_ws_init(WebSocket, _Path, _Args) ->
    spawn(fun() -> ticker(WebSocket, 1) end),
    {ok, 0}.

handle_ws_message(<<"ping">>, Count) ->
    {reply, <<"pong">>, Count + 1};
handle_ws_message(<<"bye">>, Count) ->
    {close, <<"bye">>, Count};
handle_ws_message(<<"count">>, Count) ->
    {reply, integer_to_binary(Count), Count};
handle_ws_message(_Other, Count) ->
    {noreply, Count + 1}.

%% Pushes a tick every 500 ms until the WebSocket is gone.
ticker(WebSocket, N) ->
    Json = iolist_to_binary(json_encoder:encode(#{tick => N})),
    case httpd_ws_handler:send(WebSocket, Json) of
        ok ->
            timer:sleep(500),
            ticker(WebSocket, N + 1);
        _Closed ->
            ok
    end.
