%% @doc Process-side handler (runs in the connection process; reads priv files): serves static files
%% from an application's priv directory through `atomvm:read_priv/2' (on the host, the shim in
%% runtime/host reads the priv dir or the harness's table).
%%
%% Route: `{<<"/static/*">>, httpd_static, #{app => hello_web, dir => <<"www">>}}' (or `<<"/*">>').
%% Options: `app' (required), `dir' (default `<<"www">>'), `cache_control' (default
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

-export([handle/2, accepts_gzip/1, etag/1, safe_path/1]).

%% @doc httpd_handler callback.
-spec handle(map(), map()) -> httpd_handler:result().
handle(Req = #{method := Method}, Opts) when Method =:= <<"GET">>; Method =:= <<"HEAD">> ->
    case safe_path(rel_segments(Req, Opts)) of
        {ok, Rel} -> serve(Req, Rel, Opts);
        error -> {reply, 400, text(), <<"bad path\n">>}
    end;
handle(_Req, _Opts) ->
    {reply, 405, [{<<"allow">>, <<"GET, HEAD">>} | text()], <<"method not allowed\n">>}.

%% The file's segments below the route: the wildcard's path_info, plus the index file when the
%% request path names a directory.
rel_segments(Req = #{path := Path}, Opts) ->
    Segs = [S || S <- maps:get(path_info, Req, []), S =/= <<>>],
    Index = maps:get(index, Opts, <<"index.html">>),
    case Segs =:= [] orelse binary:last(Path) =:= $/ of
        true -> Segs ++ [Index];
        false -> Segs
    end.

%% @doc Joins path segments after refusing anything that could leave the directory.
-spec safe_path([binary()]) -> {ok, binary()} | error.
safe_path(Segs) ->
    case lists:all(fun safe_segment/1, Segs) of
        true -> {ok, join(Segs)};
        false -> error
    end.

safe_segment(<<>>) -> false;
safe_segment(<<".">>) -> false;
safe_segment(<<"..">>) -> false;
safe_segment(Seg) -> safe_bytes(Seg).

safe_bytes(<<>>) -> true;
safe_bytes(<<C, _/binary>>) when C =:= $/; C =:= $\\; C =:= 0 -> false;
safe_bytes(<<_, R/binary>>) -> safe_bytes(R).

join([S]) -> S;
join([S | R]) -> <<S/binary, "/", (join(R))/binary>>.

serve(Req, Rel, Opts) ->
    App = maps:get(app, Opts),
    Dir = maps:get(dir, Opts, <<"www">>),
    File = <<Dir/binary, "/", Rel/binary>>,
    Gz = atomvm:read_priv(App, <<File/binary, ".gz">>),
    Type = [{<<"content-type">>, httpd_mime:type(Rel)}],
    Cache =
        case maps:get(cache_control, Opts, <<"max-age=60">>) of
            none -> [];
            CC -> [{<<"cache-control">>, CC}]
        end,
    case {Gz, accepts_gzip(Req)} of
        {Bin, true} when is_binary(Bin) ->
            Vary = [{<<"content-encoding">>, <<"gzip">>}, {<<"vary">>, <<"accept-encoding">>}],
            send_file(Req, Bin, Type ++ Cache ++ Vary);
        {Bin, false} when is_binary(Bin) ->
            Vary = [{<<"vary">>, <<"accept-encoding">>}],
            case atomvm:read_priv(App, File) of
                Plain when is_binary(Plain) -> send_file(Req, Plain, Type ++ Cache ++ Vary);
                _ -> {reply, 406, text(), <<"only a gzip-encoded version exists\n">>}
            end;
        {_, _} ->
            case atomvm:read_priv(App, File) of
                Plain when is_binary(Plain) -> send_file(Req, Plain, Type ++ Cache);
                _ -> {reply, 404, text(), <<"not found\n">>}
            end
    end.

send_file(Req, Bin, Headers) ->
    ETag = etag(Bin),
    Hs = [{<<"etag">>, ETag} | Headers],
    case if_none_match(httpd_handler:header(<<"if-none-match">>, Req), ETag) of
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
if_none_match(undefined, _ETag) ->
    false;
if_none_match(Value, ETag) ->
    lists:any(
        fun(Tag) ->
            T = httpd_parse:trim(Tag),
            T =:= <<"*">> orelse T =:= ETag orelse T =:= <<"W/", ETag/binary>>
        end,
        binary:split(Value, <<",">>, [global])
    ).

%% @doc Whether the request's Accept-Encoding admits gzip: `gzip' or `*' listed with a q-value
%% above zero (RFC 9110 section 12.5.3); an explicit `gzip' entry wins over `*'.
-spec accepts_gzip(map()) -> boolean().
accepts_gzip(Req) ->
    case httpd_handler:header(<<"accept-encoding">>, Req) of
        undefined -> false;
        Value -> gzip_q(binary:split(Value, <<",">>, [global]), undefined)
    end.

gzip_q([], Star) ->
    Star =:= true;
gzip_q([Item | Rest], Star) ->
    [Name | Params] = binary:split(Item, <<";">>, [global]),
    case httpd_parse:lower(httpd_parse:trim(Name)) of
        <<"gzip">> -> q_positive(Params);
        <<"x-gzip">> -> q_positive(Params);
        <<"*">> -> gzip_q(Rest, q_positive(Params));
        _ -> gzip_q(Rest, Star)
    end.

q_positive([]) ->
    true;
q_positive([P | Rest]) ->
    case httpd_parse:lower(httpd_parse:trim(P)) of
        <<"q=", Q/binary>> -> not zero_q(Q);
        _ -> q_positive(Rest)
    end.

%% qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) (RFC 9110 section 12.4.2)
zero_q(<<"0">>) -> true;
zero_q(<<"0.", Ds/binary>>) -> all_zero(Ds);
zero_q(_) -> false.

all_zero(<<>>) -> true;
all_zero(<<$0, R/binary>>) -> all_zero(R);
all_zero(_) -> false.


text() -> [{<<"content-type">>, <<"text/plain">>}].
