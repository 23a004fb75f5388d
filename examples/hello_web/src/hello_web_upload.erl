%% @doc Process-side handler: `POST /upload' reads the body in pieces of at most 4096 bytes and
%% counts them, never holding the upload whole: `{"bytes": N, "pieces": K}'.
-module(hello_web_upload).
-behaviour(httpd_handler).

-export([handle/2]).

-define(PIECE, 4096).

%% @doc httpd_handler callback.
-spec handle(map(), term()) -> httpd_handler:result().
handle(Req, _Opts) ->
    count(httpd_handler:read_body(Req, #{length => ?PIECE}), 0, 0).

count({more, Bin, Req}, Bytes, Pieces) ->
    count(httpd_handler:read_body(Req, #{length => ?PIECE}), Bytes + byte_size(Bin), Pieces + 1);
count({ok, Bin, Req}, Bytes, Pieces) ->
    Json = #{<<"bytes">> => Bytes + byte_size(Bin), <<"pieces">> => Pieces + piece(Bin)},
    {reply, 200, [{<<"content-type">>, <<"application/json">>}], httpd_json:encode(Json), Req};
count({error, Reason}, _Bytes, _Pieces) ->
    %% The connection answers the client's error (413, 408, 400) itself once this crash reaches it.
    erlang:error({upload, Reason}).

%% An empty last piece is not a piece.
piece(<<>>) -> 0;
piece(_) -> 1.
