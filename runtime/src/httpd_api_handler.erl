%% @doc Process-side handler (reads the request body in the connection process) for JSON REST
%% endpoints, and the behaviour of the modules it dispatches to.
%%
%% Route: `{<<"/api/items/:id">>, httpd_api_handler, #{handler => items_api}}'. The module exports
%% `handle_api(Method, Bindings, Json, Req)' and returns `{ok, Json}' (200), `{ok, Status, Json}' or
%% `{error, Status, ReasonBinary}' (sent as `{"error": Reason}'). `Json' is `undefined' when the
%% request has no body; a body that is not JSON is answered with 400 and the decoder's reason,
%% without calling the module. The body is read in pieces and refused with 413 past `max_json'
%% (route option, default 16384 bytes): JSON must be decoded whole, so it gets its own small bound.
-module(httpd_api_handler).
-behaviour(httpd_handler).

-export([handle/2]).

-callback handle_api(Method :: binary(), Bindings :: #{binary() => binary()}, Json :: term(), Req :: map()) ->
    {ok, term()} | {ok, 100..999, term()} | {error, 100..999, binary()}.

-define(DEFAULT_MAX_JSON, 16384).

%% @doc httpd_handler callback.
-spec handle(map(), map()) -> httpd_handler:result().
handle(Req = #{bindings := Bindings, method := Method}, Opts = #{handler := Mod}) ->
    Max = maps:get(max_json, Opts, ?DEFAULT_MAX_JSON),
    case body(Req, Max) of
        {ok, <<>>, Req2} ->
            result(Mod:handle_api(Method, Bindings, undefined, Req2), Req2);
        {ok, Body, Req2} ->
            case httpd_json:decode(Body) of
                {ok, Json} -> result(Mod:handle_api(Method, Bindings, Json, Req2), Req2);
                {error, Reason} -> json(400, error_body(<<"invalid JSON: ", Reason/binary>>), Req2)
            end;
        {too_large, Req2} ->
            json(413, error_body(<<"JSON body too large">>), Req2);
        {error, Reason} ->
            erlang:error({read_body, Reason})
    end.

body(Req = #{body := none}, _Max) ->
    {ok, <<>>, Req};
body(Req, Max) ->
    collect(httpd_handler:read_body(Req, #{length => Max + 1}), Max, []).

collect({ok, Bin, Req}, Max, Acc) ->
    All = iolist_to_binary(lists:reverse([Bin | Acc])),
    case byte_size(All) > Max of
        true -> {too_large, Req};
        false -> {ok, All, Req}
    end;
collect({more, _Bin, Req}, _Max, _Acc) ->
    %% A piece of Max + 1 bytes arrived with more to follow: already past the bound.
    {too_large, Req};
collect({error, _} = Error, _Max, _Acc) ->
    Error.

result({ok, Json}, Req) -> json(200, Json, Req);
result({ok, Status, Json}, Req) when is_integer(Status) -> json(Status, Json, Req);
result({error, Status, Reason}, Req) when is_integer(Status) -> json(Status, error_body(Reason), Req);
result(Other, _Req) -> erlang:error({bad_api_result, Other}).

json(Status, Json, Req) ->
    {reply, Status, [{<<"content-type">>, <<"application/json">>}], httpd_json:encode(Json), Req}.

error_body(Reason) when is_binary(Reason) -> #{<<"error">> => Reason};
error_body(Reason) -> #{<<"error">> => iolist_to_binary(io_lib:format("~p", [Reason]))}.
