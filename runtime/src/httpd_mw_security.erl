%% @doc Pure middleware: adds security response headers unless the handler set them already.
%% Defaults: `x-content-type-options: nosniff', `x-frame-options: DENY', `referrer-policy:
%% no-referrer'. Opts: `#{headers => [{Name, Value}]}' replaces the default list (names lowercase).
-module(httpd_mw_security).
-behaviour(httpd_middleware).

-export([request/2, response/3]).

%% @doc httpd_middleware callback: nothing to do on the way in.
-spec request(map(), map()) -> {ok, map()}.
request(Req, _Opts) ->
    {ok, Req}.

%% @doc httpd_middleware callback: appends each header the response does not carry yet.
-spec response(map(), {integer(), list(), term()}, map()) -> {integer(), list(), term()}.
response(_Req, {Status, Headers, Body}, Opts) ->
    Wanted = maps:get(headers, Opts, defaults()),
    Missing = [{N, V} || {N, V} <- Wanted, not has(N, Headers)],
    {Status, Headers ++ Missing, Body}.

defaults() ->
    [
        {<<"x-content-type-options">>, <<"nosniff">>},
        {<<"x-frame-options">>, <<"DENY">>},
        {<<"referrer-policy">>, <<"no-referrer">>}
    ].

has(Name, Headers) ->
    lists:any(fun({N, _}) -> httpd_parse:lower(iolist_to_binary(N)) =:= Name end, Headers).
