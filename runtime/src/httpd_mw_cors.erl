%% @doc Pure middleware: CORS (the Fetch standard's CORS protocol). Answers preflight requests
%% (OPTIONS with `access-control-request-method') itself with 204, and adds
%% `access-control-allow-origin' to responses for allowed origins.
%% Opts: `origins' (`[<<"*">>]' by default, or a list of exact origins), `methods' (default
%% GET, POST, PUT, PATCH, DELETE, OPTIONS), `headers' (allowed request headers, default
%% `content-type'), `max_age' (seconds, default 600).
-module(httpd_mw_cors).
-behaviour(httpd_middleware).

-export([request/2, response/3, lower/1]).

%% @doc httpd_middleware callback: answers a preflight for an allowed origin.
-spec request(map(), map()) -> {ok, map()} | {stop, 204, list(), binary()}.
request(Req = #{method := <<"OPTIONS">>}, Opts) ->
    case {allowed_origin(Req, Opts), httpd_handler:header(<<"access-control-request-method">>, Req)} of
        {undefined, _} ->
            {ok, Req};
        {_, undefined} ->
            {ok, Req};
        {_Origin, _Method} ->
            Headers = [
                {<<"access-control-allow-methods">>,
                    maps:get(methods, Opts, <<"GET, POST, PUT, PATCH, DELETE, OPTIONS">>)},
                {<<"access-control-allow-headers">>, maps:get(headers, Opts, <<"content-type">>)},
                {<<"access-control-max-age">>, integer_to_binary(maps:get(max_age, Opts, 600))}
            ],
            %% response/3 still runs on this reply and adds the allow-origin header.
            {stop, 204, Headers, <<>>}
    end;
request(Req, _Opts) ->
    {ok, Req}.

%% @doc httpd_middleware callback: adds the allow-origin header (and `vary: origin' when the answer
%% depends on the origin).
-spec response(map(), {integer(), list(), term()}, map()) -> {integer(), list(), term()}.
response(Req, {Status, Headers, Body}, Opts) ->
    case allowed_origin(Req, Opts) of
        undefined ->
            {Status, Headers, Body};
        <<"*">> ->
            {Status, [{<<"access-control-allow-origin">>, <<"*">>} | Headers], Body};
        Origin ->
            {Status, [{<<"access-control-allow-origin">>, Origin}, {<<"vary">>, <<"origin">>} | Headers], Body}
    end.

allowed_origin(Req, Opts) ->
    case httpd_handler:header(<<"origin">>, Req) of
        undefined ->
            undefined;
        Origin ->
            Origins = maps:get(origins, Opts, [<<"*">>]),
            case lists:member(<<"*">>, Origins) of
                true ->
                    <<"*">>;
                false ->
                    case lists:member(Origin, Origins) of
                        true -> Origin;
                        false -> undefined
                    end
            end
    end.

%% @doc ASCII lowercase of a binary (header names are compared case-insensitively, RFC 9110 5.1).
-spec lower(binary()) -> binary().
lower(B) -> httpd_parse:lower(B).
