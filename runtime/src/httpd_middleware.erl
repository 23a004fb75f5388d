%% @doc Pure: the middleware behaviour and nothing else. A step is `{Module, Opts}' in the server's
%% `middleware' list. `request/2' runs in list order before routing (it may stop the request with
%% a reply of its own); `response/3' runs in reverse order on every reply the handler or the server
%% produced (Body is the atom `stream' for a streamed reply, whose body the step cannot change).
-module(httpd_middleware).

-export([]).

-callback request(Req :: map(), Opts :: term()) ->
    {ok, map()} | {stop, 100..999, [{binary(), iodata()}], iodata()}.
%% Optional: the step's options as every request sees them, made once when the server starts (fill in
%% defaults here rather than per request).
-callback prepare(Opts :: term()) -> term().
-optional_callbacks([prepare/1]).
-callback response(Req :: map(), {100..999, [{binary(), iodata()}], iodata() | stream}, Opts :: term()) ->
    {100..999, [{binary(), iodata()}], iodata() | stream}.
