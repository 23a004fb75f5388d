%% @doc EUnit tests for httpd_mime (pure), table-driven.
-module(httpd_mime_tests).

-include_lib("eunit/include/eunit.hrl").

type_test_() ->
    Cases = [
        {<<"index.html">>, <<"text/html; charset=utf-8">>},
        {<<"www/a.b/INDEX.HTM">>, <<"text/html; charset=utf-8">>},
        {<<"app.css">>, <<"text/css; charset=utf-8">>},
        {<<"/static/js/app.js">>, <<"text/javascript; charset=utf-8">>},
        {<<"mod.mjs">>, <<"text/javascript; charset=utf-8">>},
        {<<"data.json">>, <<"application/json">>},
        {<<"app.js.map">>, <<"application/json">>},
        {<<"logo.svg">>, <<"image/svg+xml">>},
        {<<"a.png">>, <<"image/png">>},
        {<<"a.JPG">>, <<"image/jpeg">>},
        {<<"a.jpeg">>, <<"image/jpeg">>},
        {<<"a.gif">>, <<"image/gif">>},
        {<<"favicon.ico">>, <<"image/x-icon">>},
        {<<"notes.txt">>, <<"text/plain; charset=utf-8">>},
        {<<"m.wasm">>, <<"application/wasm">>},
        {<<"f.woff">>, <<"font/woff">>},
        {<<"f.woff2">>, <<"font/woff2">>},
        {<<"feed.xml">>, <<"application/xml">>},
        {<<"doc.pdf">>, <<"application/pdf">>},
        %% bare extensions, with or without the dot
        {<<"css">>, <<"text/css; charset=utf-8">>},
        {<<".png">>, <<"image/png">>},
        %% unknown, none, odd
        {<<"archive.tar.zst">>, <<"application/octet-stream">>},
        {<<"Makefile">>, <<"application/octet-stream">>},
        {<<"dir.html/">>, <<"application/octet-stream">>},
        {<<"x.">>, <<"application/octet-stream">>},
        {<<>>, <<"application/octet-stream">>},
        {<<"a.averyveryverylongextension">>, <<"application/octet-stream">>},
        {not_a_binary, <<"application/octet-stream">>}
    ],
    [?_assertEqual({In, Out}, {In, httpd_mime:type(In)}) || {In, Out} <- Cases].
