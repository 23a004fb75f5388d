%% @doc Process: the example's WebSocket echo endpoint (`/ws/echo'). Every text or binary message comes
%% back as it was sent; the handler state counts the messages.
-module(echo_ws).
-behaviour(httpd_ws_handler).

-export([ws_init/2, ws_handle/2, ws_info/2]).

%% @doc Accepts every upgrade; the state is the number of messages echoed.
-spec ws_init(map(), term()) -> {ok, non_neg_integer()}.
ws_init(_Req, _Opts) ->
    {ok, 0}.

%% @doc Echoes the message.
-spec ws_handle({text | binary, binary()}, non_neg_integer()) ->
    {reply, httpd_ws_handler:frame(), non_neg_integer()}.
ws_handle({text, Text}, N) ->
    {reply, {text, Text}, N + 1};
ws_handle({binary, Bin}, N) ->
    {reply, {binary, Bin}, N + 1}.

%% @doc Ignores messages from other processes.
-spec ws_info(term(), non_neg_integer()) -> {ok, non_neg_integer()}.
ws_info(_Msg, N) ->
    {ok, N}.
