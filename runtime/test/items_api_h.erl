%% @doc Test fixture: an httpd_api_handler module. GET echoes the binding, POST echoes the JSON it
%% got (or `<<"no body">>'), DELETE answers 204, PUT refuses with 409.
-module(items_api_h).
-behaviour(httpd_api_handler).
-export([handle_api/4]).

-spec handle_api(binary(), map(), term(), map()) -> {ok, term()} | {ok, integer(), term()} | {error, integer(), binary()}.
handle_api(<<"GET">>, #{<<"id">> := Id}, _Json, _Req) -> {ok, #{<<"id">> => Id}};
handle_api(<<"POST">>, _B, undefined, _Req) -> {ok, 201, #{<<"got">> => <<"no body">>}};
handle_api(<<"POST">>, _B, Json, _Req) -> {ok, 201, #{<<"got">> => Json}};
handle_api(<<"DELETE">>, _B, _Json, _Req) -> {ok, 204, null};
handle_api(<<"PUT">>, _B, _Json, _Req) -> {error, 409, <<"conflict">>}.
