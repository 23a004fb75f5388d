%% @doc Pure: host-only `httpd_middleware' that `avmd dev' puts in front of the app's middleware
%% (`httpd_overrides' `middleware_prepend'). It injects the live-reload script into every `text/html'
%% response so open tabs reload after each good rebuild. The script comes from the dashboard
%% (`Opts' `script_url'), which streams `reload' events over SSE.
%%
%% gzip-encoded HTML (RFC 9110 section 8.4: `Content-Encoding: gzip') is decompressed here with OTP's
%% zlib, injected and served as identity, dropping `Content-Encoding'; a body that does not inflate is
%% left alone. Any `Content-Length' the handler set is dropped when the body changes, so the server
%% recomputes it (RFC 9110 section 8.6). Streamed replies (`Body = stream') are left alone.
%% On the real AtomVM (`avmd dev --vm atomvm') the daemon adds this module to the dev copy of the bundle
%% only, and sets `identity => true': AtomVM's zlib cannot inflate, so the request's Accept-Encoding is
%% dropped and pages come as identity. It therefore calls only what AtomVM has (no `string:lowercase',
%% no `binary:matches'); `zlib:gunzip' is reached only without `identity'. Never in a release bundle.
-module(avmd_dev_reload).

-export([request/2, response/3, inject/2, script_tag/1]).

-type headers() :: [{binary(), iodata()}].

%% @doc Requests pass through untouched; with `identity => true' without their Accept-Encoding, so that
%% handlers answer in identity (the script can then be injected where nothing can inflate gzip).
-spec request(map(), map()) -> {ok, map()}.
request(#{headers := Headers} = Req, #{identity := true}) ->
    {ok, Req#{headers => [H || {K, _} = H <- Headers, K =/= <<"accept-encoding">>]}};
request(Req, _Opts) -> {ok, Req}.

%% @doc Adds the live-reload script to HTML responses.
-spec response(map(), {integer(), headers(), iodata() | stream}, map()) ->
    {integer(), headers(), iodata() | stream}.
response(_Req, {Status, Headers, stream}, _Opts) ->
    {Status, Headers, stream};
response(_Req, {Status, Headers, Body}, Opts) ->
    case is_html(Headers) of
        false ->
            {Status, Headers, Body};
        true ->
            Tag = script_tag(maps:get(script_url, Opts, <<"/livereload.js">>)),
            case header(<<"content-encoding">>, Headers) of
                undefined ->
                    {Status, drop([<<"content-length">>], Headers), inject(iolist_to_binary(Body), Tag)};
                Enc ->
                    case lower(iolist_to_binary(Enc)) of
                        <<"gzip">> ->
                            case catch zlib:gunzip(iolist_to_binary(Body)) of
                                Plain when is_binary(Plain) ->
                                    {Status, drop([<<"content-length">>, <<"content-encoding">>], Headers),
                                        inject(Plain, Tag)};
                                _ ->
                                    {Status, Headers, Body}
                            end;
                        _ ->
                            %% An encoding we cannot undo: serve it as the handler made it.
                            {Status, Headers, Body}
                    end
            end
    end.

%% @doc The `<script>' element loading the live-reload client from `Url'.
-spec script_tag(iodata()) -> binary().
script_tag(Url) ->
    iolist_to_binary([<<"<script src=\"">>, escape_attr(iolist_to_binary(Url)),
        <<"\" data-avmd-dev=\"livereload\"></script>">>]).

%% @doc Puts `Tag' before the last `</body>' (any letter case), or at the end when there is none.
-spec inject(binary(), binary()) -> binary().
inject(Html, Tag) ->
    case last_match(lower(Html), <<"</body">>, 0, nomatch) of
        nomatch ->
            <<Html/binary, Tag/binary>>;
        Pos ->
            <<Before:Pos/binary, After/binary>> = Html,
            <<Before/binary, Tag/binary, After/binary>>
    end.

%% The offset of the last Pattern in Bin at or after From.
last_match(Bin, Pattern, From, Last) ->
    case binary:match(Bin, Pattern, [{scope, {From, byte_size(Bin) - From}}]) of
        nomatch -> Last;
        {Pos, Len} -> last_match(Bin, Pattern, Pos + Len, Pos)
    end.

lower(Bin) -> httpd_parse:lower(Bin).

is_html(Headers) ->
    case header(<<"content-type">>, Headers) of
        undefined -> false;
        CT ->
            case lower(httpd_parse:trim(iolist_to_binary(CT))) of
                <<"text/html", _/binary>> -> true;
                _ -> false
            end
    end.

header(Name, Headers) ->
    case [V || {K, V} <- Headers, lower(iolist_to_binary(K)) =:= Name] of
        [V | _] -> V;
        [] -> undefined
    end.

drop(Names, Headers) ->
    [H || H = {K, _} <- Headers, not lists:member(lower(iolist_to_binary(K)), Names)].

escape_attr(Bin) ->
    << <<(case C of $" -> <<"&quot;">>; $< -> <<"&lt;">>; $& -> <<"&amp;">>; _ -> <<C>> end)/binary>>
       || <<C>> <= Bin >>.
