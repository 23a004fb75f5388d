%% @doc Pure: the example's JSON endpoints, dispatched by httpd_api_handler.
%% `GET /api/hello?name=X' → `{"hello":"X"}'; `POST /api/echo' echoes its JSON body;
%% `GET|PUT|DELETE /api/items/:id' on a made-up catalogue of items 1..100.
-module(hello_web_api).
-behaviour(httpd_api_handler).

-export([handle_api/4]).

%% @doc httpd_api_handler callback.
-spec handle_api(binary(), map(), term(), map()) ->
    {ok, term()} | {ok, 100..999, term()} | {error, 100..999, binary()}.
handle_api(<<"GET">>, _Bindings, _Json, Req = #{path := <<"/api/hello">>}) ->
    {ok, #{<<"hello">> => httpd_handler:query(<<"name">>, Req, <<"world">>)}};
handle_api(<<"POST">>, _Bindings, undefined, #{path := <<"/api/echo">>}) ->
    {error, 400, <<"send a JSON body">>};
handle_api(<<"POST">>, _Bindings, Json, #{path := <<"/api/echo">>}) ->
    {ok, Json};
handle_api(Method, #{<<"id">> := Id}, Json, _Req) ->
    case item_id(Id) of
        error -> {error, 404, <<"no such item">>};
        N -> item(Method, N, Json)
    end.

item(<<"GET">>, N, _Json) ->
    {ok, #{<<"id">> => N, <<"name">> => <<"item ", (integer_to_binary(N))/binary>>}};
item(<<"PUT">>, _N, undefined) ->
    {error, 400, <<"send the item as JSON">>};
item(<<"PUT">>, N, Json) ->
    {ok, #{<<"id">> => N, <<"item">> => Json}};
item(<<"DELETE">>, _N, _Json) ->
    {ok, 204, null}.

item_id(Id) ->
    try binary_to_integer(Id) of
        N when N >= 1, N =< 100 -> N;
        _ -> error
    catch
        error:badarg -> error
    end.
