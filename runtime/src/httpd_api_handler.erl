%% @doc Process-side handler (reads the request body in the connection process) for JSON REST
%% endpoints, and the behaviour of the modules it dispatches to.
%%
%% Route: `{<<"/api/items/:id">>, httpd_api_handler, #{handler => items_api}}'. The module exports
%% `handle_api(Method, Bindings, Json, Req)' and returns `{ok, Json}' (200), `{ok, Status, Json}' or
%% `{error, Status, ReasonBinary}' (sent as `{"error": Reason}'). `Json' is `undefined' when the
%% request has no body; a body that is not JSON is answered with 400 and the decoder's reason,
%% without calling the module. The body is read in pieces and refused with 413 past `max_json'
%% (route option, default 16384 bytes): JSON must be decoded whole, so it gets its own small bound.
%%
%% A module written for atomvm_lib's behaviour exports `handle_api_request(Method, PathSuffix, Request,
%% Args)' instead (mounted as `#{module => Mod, args => Args}' by `httpd:start/1,2'): it gets the
%% method as an atom, the path below the route, atomvm_lib's request map (`httpd_legacy:request/2')
%% with the raw body under `body', and answers `ok' / `{ok, Text}' (text/plain), `{ok, Map}' (JSON
%% through `json_encoder'), `{close, Json}' (JSON, then the connection closes), or `not_found',
%% `bad_request', `internal_server_error' (bare or in `{error, _}'). Which contract runs is chosen by
%% what the module exports.
-module(httpd_api_handler).
-behaviour(httpd_handler).

-export([handle/2, prepare/1, legacy_result/1]).

-callback handle_api(Method :: binary(), Bindings :: #{binary() => binary()}, Json :: term(), Req :: map()) ->
    {ok, term()} | {ok, 100..999, term()} | {error, 100..999, binary()}.
-callback handle_api_request(Method :: atom(), PathSuffix :: [binary()], Request :: map(), Args :: term()) ->
    ok | {ok, term()} | {close, term()} | not_found | bad_request | internal_server_error | term().
%% a module exports one contract or the other; `avmd build' checks the routed ones
-optional_callbacks([handle_api/4, handle_api_request/4]).

-define(DEFAULT_MAX_JSON, 16384).

%% @doc httpd_handler callback.
-spec handle(map(), map()) -> httpd_handler:result().
handle(Req, #{'$api' := Api = {_Mod, _Headers, _Max}}) ->
    ours(Req, Api);
handle(Req, #{'$api' := Api = {atomvm_lib, _Mod, _Max, _Args}}) ->
    legacy(Req, Api);
handle(Req, Opts) ->
    %% a route `httpd_server' did not prepare (a direct call)
    case prepare(Opts) of
        Prepared = #{'$api' := _} -> handle(Req, Prepared);
        _ -> erlang:error({bad_api_route, {no_handler, Opts}})
    end.

%% @doc The route's options with the module under `handler' and, under `'$api'', what a request
%% reads: `{Handler, JsonHeaders, MaxJson}' for our contract, `{atomvm_lib, Handler, MaxJson, Args}'
%% for atomvm_lib's. `httpd_server' calls it once per route at start, so no request pays for looking
%% at the module's exports.
-spec prepare(map()) -> map().
prepare(Opts = #{module := Mod}) ->
    prepare(maps:remove(module, Opts#{handler => Mod}));
prepare(Opts = #{handler := Mod}) ->
    %% Made once here: the reply's header list (written in json/4 it would be a literal, which AtomVM
    %% copies into the heap at every use) and the defaults (AtomVM's `maps:get/3' of a missing key
    %% raises and catches an exception). One tuple under '$api', the first key in term order: on
    %% AtomVM a map lookup compares the wanted atom with each key before it by name (~800
    %% instructions each), as does a failed test of one atom against another, so the two contracts
    %% differ in arity rather than in a tag.
    Max = maps:get(max_json, Opts, ?DEFAULT_MAX_JSON),
    Api = case legacy(Mod) of
        false -> {Mod, [{<<"content-type">>, <<"application/json">>}], Max};
        true -> {atomvm_lib, Mod, Max, maps:get(args, Opts, undefined)}
    end,
    Opts#{'$api' => Api};
prepare(Opts) ->
    Opts.

legacy(Fun) when is_function(Fun, 4) ->
    true;
legacy(Mod) ->
    _ = code:ensure_loaded(Mod),
    not erlang:function_exported(Mod, handle_api, 4) andalso erlang:function_exported(Mod, handle_api_request, 4).

ours(Req = #{bindings := Bindings, method := Method}, Api = {Mod, _, Max}) ->
    case body(Req, Max) of
        {none, Req2} ->
            result(Mod:handle_api(Method, Bindings, undefined, Req2), Req2, Api);
        {ok, Body, Req2} ->
            case httpd_json:decode(Body) of
                {ok, Json} -> result(Mod:handle_api(Method, Bindings, Json, Req2), Req2, Api);
                {error, Reason} -> json(400, error_body(<<"invalid JSON: ", Reason/binary>>), Req2, Api)
            end;
        {too_large, Req2} ->
            json(413, error_body(<<"JSON body too large">>), Req2, Api);
        {error, Reason} ->
            erlang:error({read_body, Reason})
    end.

%% atomvm_lib's contract: the raw body (bounded like JSON) in its request map.
legacy(Req, {atomvm_lib, Mod, Max, Args}) ->
    case legacy_body(body(Req, Max)) of
        {ok, Body, Req2} ->
            Suffix = maps:get(path_info, Req2, []),
            LReq = (httpd_legacy:request(Req2, Suffix))#{body => Body},
            #{method := Method} = LReq,
            Result = case Mod of
                Fun when is_function(Fun, 4) ->
                    %% atomvm_lib's fun form answers `{ok, Json, _}'
                    case Fun(Method, Suffix, LReq, Args) of
                        {ok, Json, _} -> {close, Json};
                        Other -> Other
                    end;
                _ ->
                    Mod:handle_api_request(Method, Suffix, LReq, Args)
            end,
            case legacy_result(Result) of
                {ok, Status, Headers, Out} ->
                    {reply, Status, Headers, Out, Req2};
                {error, Status, Reason} ->
                    Named = lists:member(Reason, [not_found, bad_request, internal_server_error]),
                    Named orelse io:format("httpd: ~p:handle_api_request/4 answered ~p~n", [Mod, Reason]),
                    Text = httpd_reply:reason_phrase(Status),
                    {reply, Status, [{<<"content-type">>, <<"text/plain">>}], <<Text/binary, "\n">>, Req2}
            end;
        {too_large, Req2} ->
            {reply, 413, [{<<"content-type">>, <<"text/plain">>}], <<"body too large\n">>, Req2};
        {error, Reason} ->
            erlang:error({read_body, Reason})
    end.

%% @doc Pure. An atomvm_lib `handle_api_request/4' answer → a status, headers and body, or an error.
-spec legacy_result(term()) -> {ok, 200, list(), iodata()} | {error, 400 | 404 | 500, term()}.
legacy_result(ok) ->
    text(<<"ok">>);
legacy_result({ok, A}) when is_atom(A) ->
    text(atom_to_binary(A, utf8));
legacy_result({ok, L}) when is_list(L) ->
    try iolist_size(L) of
        _ -> text(L)
    catch
        _:_ -> json_reply([], L)
    end;
legacy_result({ok, Json}) ->
    json_reply([], Json);
legacy_result({close, Json}) ->
    json_reply([{<<"connection">>, <<"close">>}], Json);
legacy_result({error, Reason}) ->
    legacy_result(Reason);
legacy_result(not_found) ->
    {error, 404, not_found};
legacy_result(bad_request) ->
    {error, 400, bad_request};
legacy_result(Other) ->
    {error, 500, Other}.

text(Body) ->
    {ok, 200, [{<<"content-type">>, <<"text/plain">>}], Body}.

json_reply(Headers, Json) ->
    try json_encoder:encode(Json) of
        Out -> {ok, 200, [{<<"content-type">>, <<"application/json">>} | Headers], Out}
    catch
        _:_ -> {error, 500, {not_json, Json}}
    end.

%% (`none' rather than an empty binary: on AtomVM a `<<>>' in the code is a literal, loaded at each use)
body(Req = #{body := none}, _Max) ->
    {none, Req};
body(Req, Max) ->
    collect(httpd_handler:read_body(Req, #{length => Max + 1}), Max, []).

legacy_body({none, Req}) -> {ok, <<>>, Req};
legacy_body(Other) -> Other.

collect({ok, Bin, Req}, Max, Acc) ->
    All = iolist_to_binary(lists:reverse([Bin | Acc])),
    if
        byte_size(All) > Max -> {too_large, Req};
        %% an empty body (a chunked one with no data) is no body
        byte_size(All) =:= 0 -> {none, Req};
        true -> {ok, All, Req}
    end;
collect({more, _Bin, Req}, _Max, _Acc) ->
    %% A piece of Max + 1 bytes arrived with more to follow: already past the bound.
    {too_large, Req};
collect({error, _} = Error, _Max, _Acc) ->
    Error.

result({ok, Json}, Req, Api) -> json(200, Json, Req, Api);
result({ok, Status, Json}, Req, Api) when is_integer(Status) -> json(Status, Json, Req, Api);
result({error, Status, Reason}, Req, Api) when is_integer(Status) -> json(Status, error_body(Reason), Req, Api);
result(Other, _Req, _Api) -> erlang:error({bad_api_result, Other}).

json(Status, Json, Req, {_, Headers, _}) ->
    {reply, Status, Headers, httpd_json:encode(Json), Req}.

error_body(Reason) when is_binary(Reason) -> #{<<"error">> => Reason};
error_body(Reason) -> #{<<"error">> => iolist_to_binary(io_lib:format("~p", [Reason]))}.
