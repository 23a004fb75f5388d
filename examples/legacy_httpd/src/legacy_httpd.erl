%% The start module: atomvm_lib's httpd config, unchanged. Prefixes match in list order (longest
%% first); `[]' serves the priv files. `/hello' is a handler written for avmd's own API (`handle/2'),
%% mounted beside the atomvm_lib ones.
-module(legacy_httpd).

-export([start/0]).

start() ->
    Config = [
        {[<<"api">>], #{
            handler => httpd_api_handler,
            handler_config => #{module => legacy_api, args => #{started => erlang:system_time(second)}}
        }},
        {[<<"ws">>], #{
            handler => httpd_ws_handler,
            handler_config => #{module => legacy_ws}
        }},
        {[<<"upload">>], #{
            handler => legacy_upload
        }},
        {[<<"hello">>], #{
            handler => hello_avmd,
            handler_config => #{greeting => <<"hello">>}
        }},
        {[], #{
            handler => httpd_file_handler,
            handler_config => #{app => legacy_httpd}
        }}
    ],
    io:format("Starting httpd on port 8080 ...~n", []),
    case httpd:start(8080, Config) of
        {ok, _Pid} ->
            io:format("httpd started.~n", []),
            timer:sleep(infinity);
        Error ->
            io:format("An error occurred: ~p~n", [Error])
    end.
