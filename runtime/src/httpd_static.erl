%% @doc Process-side handler (runs in the connection process; reads priv files): serves static files
%% from an application's priv directory through `atomvm:read_priv/2' (on the host, the shim in
%% runtime/host reads the priv dir or the harness's table).
%%
%% Route: `{<<"/static/*">>, httpd_static, #{app => hello_web, dir => <<"www">>}}' (or `<<"/*">>').
%% Options: `app' (required), `dir' (default `<<"www">>', `<<>>' for the priv root), `cache_control' (default
%% `<<"max-age=60">>', `none' to leave it out), `index' (default `<<"index.html">>').
%% - `foo.js.gz' is sent for `foo.js' with `content-encoding: gzip' when the client accepts gzip
%%   (RFC 9110 section 12.5.3, q-values honoured: `gzip;q=0' refuses it); `vary: accept-encoding'
%%   whenever a `.gz' twin exists, so caches keep both.
%% - ETag = quoted CRC-32 and size of the bytes sent; a matching If-None-Match answers 304
%%   (RFC 9110 section 13.1.2).
%% - A path ending in `/' serves the directory's index file.
%% - Segments `..', `.', or holding `/', `\' or NUL after percent-decoding are refused with 400:
%%   nothing outside `dir' is ever read.
-module(httpd_static).
-behaviour(httpd_handler).

-export([prepare/1, handle/2, accepts_gzip/1, etag/1, safe_path/1]).

-define(TEXT_PLAIN, [{<<"content-type">>, <<"text/plain">>}]).

%% @doc httpd_handler callback: the options with their defaults, filled in once at server start.
-spec prepare(map()) -> map().
prepare(Opts = #{'$static' := true}) ->
    Opts;
prepare(Opts) ->
    Opts#{dir => maps:get(dir, Opts, <<"www">>), cache_control => maps:get(cache_control, Opts, <<"max-age=60">>),
          index => maps:get(index, Opts, <<"index.html">>), '$static' => true}.

%% @doc httpd_handler callback.
-spec handle(map(), map()) -> httpd_handler:result().
handle(Req, Opts) when not is_map_key('$static', Opts) ->
    %% options the server did not prepare (a direct call)
    handle(Req, prepare(Opts));
handle(Req = #{method := Method}, Opts) when Method =:= <<"GET">>; Method =:= <<"HEAD">> ->
    case safe_path(rel_segments(Req, Opts)) of
        {ok, Rel} -> serve(Req, Rel, Opts);
        error -> {reply, 400, ?TEXT_PLAIN, <<"bad path\n">>}
    end;
handle(_Req, _Opts) ->
    {reply, 405, [{<<"allow">>, <<"GET, HEAD">>} | ?TEXT_PLAIN], <<"method not allowed\n">>}.

%% The file's segments below the route: the wildcard's path_info, plus the index file when the
%% request path names a directory.
rel_segments(Req = #{path := Path}, Opts) ->
    Segs = [S || S <- maps:get(path_info, Req, []), S =/= <<>>],
    #{index := Index} = Opts,
    case Segs =:= [] orelse binary:last(Path) =:= $/ of
        true -> Segs ++ [Index];
        false -> Segs
    end.

%% @doc Joins path segments after refusing anything that could leave the directory.
-spec safe_path([binary()]) -> {ok, binary()} | error.
safe_path([Seg | Rest]) when Seg =/= <<>>, Seg =/= <<".">>, Seg =/= <<"..">> ->
    case {safe_bytes(Seg), Rest} of
        {true, []} ->
            {ok, Seg};
        {true, _} ->
            case safe_path(Rest) of
                {ok, Path} -> {ok, <<Seg/binary, "/", Path/binary>>};
                error -> error
            end;
        {false, _} ->
            error
    end;
safe_path(_) ->
    error.

safe_bytes(<<C, R/binary>>) when C =/= $/, C =/= $\\, C =/= 0 -> safe_bytes(R);
safe_bytes(R) -> R =:= <<>>.

serve(Req, Rel, Opts) ->
    #{app := App, dir := Dir0, cache_control := CacheControl} = Opts,
    File = case Dir0 of
        <<>> -> Rel;
        Dir -> <<Dir/binary, "/", Rel/binary>>
    end,
    Gz = atomvm:read_priv(App, <<File/binary, ".gz">>),
    Headers = [{<<"content-type">>, httpd_mime:type(Rel)} |
        case CacheControl of
            none -> [];
            CC -> [{<<"cache-control">>, CC}]
        end],
    %% a .gz twin exists: caches must keep both variants
    Vary = [{<<"vary">>, <<"accept-encoding">>} || is_binary(Gz)],
    case is_binary(Gz) andalso accepts_gzip(Req) of
        true ->
            send_file(Req, Gz, Headers ++ [{<<"content-encoding">>, <<"gzip">>} | Vary]);
        false ->
            case atomvm:read_priv(App, File) of
                Plain when is_binary(Plain) -> send_file(Req, Plain, Headers ++ Vary);
                _ when Vary =/= [] -> {reply, 406, ?TEXT_PLAIN, <<"only a gzip-encoded version exists\n">>};
                _ -> {reply, 404, ?TEXT_PLAIN, <<"not found\n">>}
            end
    end.

send_file(Req, Bin, Headers) ->
    ETag = etag(Bin),
    Hs = [{<<"etag">>, ETag} | Headers],
    case etag_matches(split(<<"if-none-match">>, <<",">>, Req), ETag) of
        true -> {reply, 304, Hs, <<>>};
        false -> {reply, 200, Hs, Bin}
    end.

%% @doc A strong validator for the bytes sent: CRC-32 and size, quoted (RFC 9110 section 8.8.3).
-spec etag(binary()) -> binary().
etag(Bin) ->
    Crc = integer_to_binary(erlang:crc32(Bin), 16),
    Size = integer_to_binary(byte_size(Bin), 16),
    <<"\"", Crc/binary, "-", Size/binary, "\"">>.

%% If-None-Match uses the weak comparison (RFC 9110 section 13.1.2): W/ prefixes are ignored.
etag_matches([Tag | Rest], ETag) ->
    T = httpd_parse:trim(Tag),
    T =:= <<"*">> orelse T =:= ETag orelse T =:= <<"W/", ETag/binary>> orelse etag_matches(Rest, ETag);
etag_matches([], _ETag) ->
    false.

%% A request header's list items (one empty item when the header is absent).
split(Name, Sep, Req) ->
    binary:split(httpd_handler:header(Name, Req, <<>>), Sep, [global]).

%% @doc Whether the request's Accept-Encoding admits gzip: `gzip' or `*' listed with a q-value
%% above zero (RFC 9110 section 12.5.3); an explicit `gzip' entry wins over `*'.
-spec accepts_gzip(map()) -> boolean().
accepts_gzip(Req) ->
    gzip_q(split(<<"accept-encoding">>, <<",">>, Req), false).

gzip_q([], Star) ->
    Star;
gzip_q([Item | Rest], Star) ->
    [Name | Params] = binary:split(Item, <<";">>, [global]),
    case httpd_parse:lower(httpd_parse:trim(Name)) of
        <<"gzip">> -> q_positive(Params);
        <<"x-gzip">> -> q_positive(Params);
        <<"*">> -> gzip_q(Rest, q_positive(Params));
        _ -> gzip_q(Rest, Star)
    end.

%% qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) (RFC 9110 section 12.4.2): zero is
%% "0" with only zeros after the point.
q_positive([]) ->
    true;
q_positive([P | Rest]) ->
    case httpd_parse:lower(httpd_parse:trim(P)) of
        <<"q=0">> -> false;
        <<"q=0.", Ds/binary>> -> Ds =/= binary:copy(<<"0">>, byte_size(Ds));
        <<"q=", _/binary>> -> true;
        _ -> q_positive(Rest)
    end.
