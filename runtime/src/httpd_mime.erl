%% @doc Pure. Media type of a file by its extension, for static files (RFC 6838 registered types;
%% text types carry `charset=utf-8').
-module(httpd_mime).

-export([type/1]).

%% @doc The media type for a path (`<<"www/app.js">>'), a file name or a bare extension (`<<"js">>',
%% `<<".js">>'); extensions are case-insensitive. Unknown: `application/octet-stream'.
-spec type(PathOrExt :: binary()) -> binary().
type(PathOrExt) when is_binary(PathOrExt) ->
    ext_type(lower(extension(PathOrExt)));
type(_) ->
    <<"application/octet-stream">>.

%% The part after the last '.' of the last path segment, or the whole input when it has no '.'.
extension(P) ->
    Last =
        case binary:split(P, <<"/">>, [global]) of
            [One] -> One;
            Segs -> lists:last(Segs)
        end,
    case binary:split(Last, <<".">>, [global]) of
        [NoDot] -> NoDot;
        Parts -> lists:last(Parts)
    end.

%% Extensions are short; a long one is simply unknown (and not worth copying).
lower(E) when byte_size(E) > 8 -> <<>>;
lower(E) -> httpd_parse:lower(E).

ext_type(Ext) ->
    %% one literal list rather than a clause per extension: a fraction of the code size
    case lists:keyfind(Ext, 1, [
        {<<"html">>, <<"text/html; charset=utf-8">>},
        {<<"htm">>, <<"text/html; charset=utf-8">>},
        {<<"css">>, <<"text/css; charset=utf-8">>},
        {<<"js">>, <<"text/javascript; charset=utf-8">>},
        {<<"mjs">>, <<"text/javascript; charset=utf-8">>},
        {<<"json">>, <<"application/json">>},
        {<<"map">>, <<"application/json">>},
        {<<"txt">>, <<"text/plain; charset=utf-8">>},
        {<<"xml">>, <<"application/xml">>},
        {<<"svg">>, <<"image/svg+xml">>},
        {<<"png">>, <<"image/png">>},
        {<<"jpg">>, <<"image/jpeg">>},
        {<<"jpeg">>, <<"image/jpeg">>},
        {<<"gif">>, <<"image/gif">>},
        {<<"ico">>, <<"image/x-icon">>},
        {<<"webp">>, <<"image/webp">>},
        {<<"wasm">>, <<"application/wasm">>},
        {<<"woff">>, <<"font/woff">>},
        {<<"woff2">>, <<"font/woff2">>},
        {<<"pdf">>, <<"application/pdf">>}
    ]) of
        {_, Type} -> Type;
        false -> <<"application/octet-stream">>
    end.
