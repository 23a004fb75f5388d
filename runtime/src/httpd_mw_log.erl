%% @doc Pure middleware (it only prints): one access-log line per request,
%% `METHOD path status Nms', written with `io:put_chars/1' (a plain binary, which AtomVM's io prints;
%% its `~s' rejects iolists). Opts: `sink => fun((binary()) -> any())' to send lines elsewhere.
-module(httpd_mw_log).
-behaviour(httpd_middleware).

-export([request/2, response/3]).

%% @doc httpd_middleware callback: notes the start time.
-spec request(map(), map()) -> {ok, map()}.
request(Req, _Opts) ->
    {ok, Req#{httpd_mw_log_t0 => erlang:monotonic_time(millisecond)}}.

%% @doc httpd_middleware callback: writes the line.
-spec response(map(), {integer(), list(), term()}, map()) -> {integer(), list(), term()}.
response(Req, Resp = {Status, _Headers, _Body}, Opts) ->
    Ms =
        case Req of
            #{httpd_mw_log_t0 := T0} -> erlang:monotonic_time(millisecond) - T0;
            _ -> 0
        end,
    Line = iolist_to_binary([
        maps:get(method, Req, <<"?">>), <<" ">>, maps:get(raw_path, Req, <<"?">>), <<" ">>,
        integer_to_binary(Status), <<" ">>, integer_to_binary(Ms), <<"ms\n">>
    ]),
    case maps:get(sink, Opts, undefined) of
        undefined -> io:put_chars(Line);
        Sink -> Sink(Line)
    end,
    Resp.
