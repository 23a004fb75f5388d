%% @doc Pure callback module: a `logger' handler that turns log events (crash reports, errors of the app's
%% processes) into device-console lines `{console, crash, Line}' sent to the registered `avmd_host'
%% harness, instead of text on stdout, which carries the harness's protocol frames.
%% Host-only: never packed into a bundle.
-module(avmd_host_logger).
-export([log/2]).

-spec log(logger:log_event(), logger:handler_config()) -> ok.
log(Event, _Config) ->
    Text = try logger_formatter:format(Event, #{single_line => false, template => [level, ": ", msg, "\n"]})
           catch _:_ -> io_lib:format("~tp~n", [Event])
           end,
    Bin = unicode:characters_to_binary(Text),
    case whereis(avmd_host) of
        undefined -> ok;
        Pid -> [Pid ! {console, crash, L} || L <- binary:split(Bin, <<"\n">>, [global]), L =/= <<>>], ok
    end.
