-module(forms_app).
-export([start/0]).

start() ->
    {ok, _} = httpd_server:start(#{port => 8080, routes => [
        {<<"/forms/*">>, legacy_forms, #{greeting => <<"hi">>}},
        {<<"/api/*">>, httpd_api_handler, #{handler => forms_api}},
        {<<"/ours">>, ours_h, #{}}
    ]}),
    timer:sleep(infinity).
