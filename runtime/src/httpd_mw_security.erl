%% @doc Pure middleware: adds security response headers unless the handler set them already.
%% Defaults: `x-content-type-options: nosniff', `x-frame-options: DENY', `referrer-policy:
%% no-referrer'. Opts: `#{headers => [{Name, Value}]}' replaces the default list (names lowercase).
-module(httpd_mw_security).
-behaviour(httpd_middleware).

-export([prepare/1, request/2, response/3]).

%% @doc httpd_middleware callback: the header list, defaults filled in once at server start (on
%% AtomVM the default list is a literal, copied into the heap at every use).
-spec prepare(map()) -> map().
prepare(Opts = #{headers := _}) -> Opts;
prepare(Opts) -> Opts#{headers => defaults()}.

%% @doc httpd_middleware callback: nothing to do on the way in.
-spec request(map(), map()) -> {ok, map()}.
request(Req, _Opts) ->
    {ok, Req}.

%% @doc httpd_middleware callback: appends each header the response does not carry yet.
-spec response(map(), {integer(), list(), term()}, map()) -> {integer(), list(), term()}.
response(_Req, {Status, Headers, Body}, #{headers := Wanted}) ->
    {Status, Headers ++ missing(Wanted, Headers), Body};
response(Req, Resp, Opts) ->
    %% a step the server did not prepare (a direct call)
    response(Req, Resp, prepare(Opts)).

defaults() ->
    [
        {<<"x-content-type-options">>, <<"nosniff">>},
        {<<"x-frame-options">>, <<"DENY">>},
        {<<"referrer-policy">>, <<"no-referrer">>}
    ].

missing([{Name, _} = Wanted | Rest], Headers) ->
    case has(Name, Headers) of
        1 -> missing(Rest, Headers);
        0 -> [Wanted | missing(Rest, Headers)]
    end;
missing([], _Headers) ->
    [].

%% Whether Headers has Name: 1 or 0, not a boolean (on AtomVM a test that finds `false' where it looks
%% for `true' compares the two atoms by name). A handler's header names are iodata in any case; most
%% are lower-case binaries, compared as they are.
has(Name, [{Name, _} | _]) ->
    1;
has(Name, [{N, _} | Rest]) when is_binary(N), byte_size(N) =/= byte_size(Name) ->
    has(Name, Rest);
has(Name, [{N, _} | Rest]) ->
    case httpd_parse:ieq(iolist_to_binary(N), Name) of
        true -> 1;
        false -> has(Name, Rest)
    end;
has(_Name, []) ->
    0.
