%% @doc Process: the example's live counter (`/ws/counter'), a server process pushing to browsers.
%%
%% One counter process (registered as `hello_counter', started by the first WebSocket that needs it)
%% adds 1 every `interval' ms (route option, default 1000) and sends `{counter, N}' to every subscribed
%% WebSocket connection; each connection forwards it to its browser as the text `{"counter":N}'.
%% The browser talks back: the text `reset' sets the counter to 0 and `add:K' (K an integer) adds K, and
%% every subscriber sees the new value at once.
-module(counter_ws).
-behaviour(httpd_ws_handler).

-export([ws_init/2, ws_handle/2, ws_info/2, ws_terminate/2]).
-export([start_counter/1, counter_loop/3]).

-define(NAME, hello_counter).

%% @doc Subscribes this connection to the counter (starting it if needed) and sends the current value.
-spec ws_init(map(), map()) -> {ok, pid()}.
ws_init(_Req, Opts) ->
    Counter = start_counter(maps:get(interval, Opts, 1000)),
    Counter ! {subscribe, self()},
    {ok, Counter}.

%% @doc `reset' and `add:K' change the counter; anything else is answered with an error message.
-spec ws_handle({text | binary, binary()}, pid()) -> {ok, pid()} | {reply, httpd_ws_handler:frame(), pid()}.
ws_handle({text, <<"reset">>}, Counter) ->
    Counter ! reset,
    {ok, Counter};
ws_handle({text, <<"add:", K/binary>>}, Counter) ->
    case catch binary_to_integer(K) of
        N when is_integer(N), N > -1000000, N < 1000000 ->
            Counter ! {add, N},
            {ok, Counter};
        _ ->
            {reply, {text, <<"{\"error\":\"add:K needs an integer K\"}">>}, Counter}
    end;
ws_handle(_Other, Counter) ->
    {reply, {text, <<"{\"error\":\"send reset or add:K\"}">>}, Counter}.

%% @doc A new value from the counter process goes to the browser.
-spec ws_info(term(), pid()) -> {ok, pid()} | {reply, httpd_ws_handler:frame(), pid()}.
ws_info({counter, N}, Counter) ->
    {reply, {text, [<<"{\"counter\":">>, integer_to_binary(N), <<"}">>]}, Counter};
ws_info(_Other, Counter) ->
    {ok, Counter}.

%% @doc Unsubscribes (the counter also notices the process exit through its monitor).
-spec ws_terminate(term(), pid()) -> ok.
ws_terminate(_Reason, Counter) ->
    Counter ! {unsubscribe, self()},
    ok.

%% ---------------------------------------------------------------------------------------------------------
%% The counter process

%% @doc The counter's pid, started (and registered) if it is not running yet.
-spec start_counter(pos_integer()) -> pid().
start_counter(Interval) ->
    case whereis(?NAME) of
        undefined ->
            Pid = spawn(?MODULE, counter_loop, [Interval, 0, #{}]),
            try register(?NAME, Pid) of
                true ->
                    erlang:send_after(Interval, Pid, tick),
                    Pid
            catch
                error:badarg ->
                    %% another connection registered one first: use that one
                    exit(Pid, kill),
                    start_counter(Interval)
            end;
        Pid ->
            Pid
    end.

%% @doc The counter's loop: the value and the subscribers (pid => monitor).
-spec counter_loop(pos_integer(), integer(), #{pid() => reference()}) -> no_return().
counter_loop(Interval, N, Subs) ->
    receive
        tick ->
            erlang:send_after(Interval, self(), tick),
            counter_loop(Interval, publish(N + 1, Subs), Subs);
        reset ->
            counter_loop(Interval, publish(0, Subs), Subs);
        {add, K} ->
            counter_loop(Interval, publish(N + K, Subs), Subs);
        {subscribe, Pid} ->
            Pid ! {counter, N},
            counter_loop(Interval, N, Subs#{Pid => erlang:monitor(process, Pid)});
        {unsubscribe, Pid} ->
            case Subs of
                #{Pid := Ref} -> erlang:demonitor(Ref, [flush]);
                _ -> ok
            end,
            counter_loop(Interval, N, maps:remove(Pid, Subs));
        {'DOWN', _Ref, process, Pid, _} ->
            counter_loop(Interval, N, maps:remove(Pid, Subs));
        _ ->
            counter_loop(Interval, N, Subs)
    end.

publish(N, Subs) ->
    maps:foreach(fun(Pid, _) -> Pid ! {counter, N} end, Subs),
    N.
