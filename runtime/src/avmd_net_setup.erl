%% @doc Process-side handler: the setup page `avmd_net' serves while the device has no network to join.
%% `GET /' lists the networks a scan found and asks for an SSID and password; `POST /save' (a form,
%% at most 512 bytes) hands them to `avmd_net:save/2', which stores them in NVS and tries them. Every
%% SSID is HTML-escaped: it comes off the air.
-module(avmd_net_setup).
-behaviour(httpd_handler).

-export([handle/2, page/2]).

-define(MAX_FORM, 512).
-define(HTML, [{<<"content-type">>, <<"text/html; charset=utf-8">>}]).

%% @doc httpd_handler callback.
handle(Req = #{method := <<"POST">>, path_info := [<<"save">>]}, _Opts) ->
    case httpd_handler:read_body(Req, #{length => ?MAX_FORM + 1}) of
        {ok, Body, Req2} when byte_size(Body) =< ?MAX_FORM ->
            Form = httpd_parse:decode_query(Body),
            case {proplists:get_value(<<"ssid">>, Form, <<>>), proplists:get_value(<<"psk">>, Form, <<>>)} of
                {<<>>, _} ->
                    {reply, 400, ?HTML, page(<<"Name the network to join.">>, scan()), Req2};
                {Ssid, Psk} when byte_size(Ssid) =< 32, byte_size(Psk) =< 64 ->
                    ok = avmd_net:save(Ssid, Psk),
                    {reply, 200, ?HTML,
                     [<<"<!doctype html><meta charset=utf-8><title>Saved</title><p>Saved. Joining ">>,
                      avmd_net:html(Ssid), <<"&hellip; If it does not work, this page comes back.</p>">>], Req2};
                _ ->
                    {reply, 400, ?HTML, page(<<"An SSID is at most 32 bytes, a password at most 64.">>, scan()), Req2}
            end;
        {_, _, Req2} ->
            {reply, 413, [{<<"content-type">>, <<"text/plain">>}], <<"form too large\n">>, Req2};
        {error, Reason} ->
            erlang:error({read_body, Reason})
    end;
handle(#{method := M}, _Opts) when M =:= <<"GET">>; M =:= <<"HEAD">> ->
    Note = case avmd_net:status() of
        {setup, N} -> N;
        _ -> <<>>
    end,
    {reply, 200, ?HTML, page(Note, scan())};
handle(_Req, _Opts) ->
    {reply, 405, [{<<"allow">>, <<"GET, POST">>}, {<<"content-type">>, <<"text/plain">>}], <<"method not allowed\n">>}.

scan() ->
    case catch network:wifi_scan() of
        {ok, {_, Networks}} -> [N || N = #{ssid := _} <- Networks];
        _ -> []
    end.

%% @doc Pure. The page: the note, the networks found (strongest first as the scan gives them), the form.
-spec page(binary(), [map()]) -> iodata().
page(Note, Networks) ->
    [<<"<!doctype html><meta charset=utf-8><meta name=viewport content='width=device-width'>"
       "<title>Wi-Fi setup</title><h1>Wi-Fi setup</h1><p>">>, avmd_net:html(Note), <<"</p><ul>">>,
     [[<<"<li>">>, avmd_net:html(to_bin(S)), <<" (">>, integer_to_binary(maps:get(rssi, N, 0)), <<" dBm)</li>">>]
      || N = #{ssid := S} <- Networks],
     <<"</ul><form method=post action=/save><label>Network <input name=ssid maxlength=32 required></label> "
       "<label>Password <input name=psk type=password maxlength=64></label> <button>Join</button></form>">>].

to_bin(B) when is_binary(B) -> B;
to_bin(L) when is_list(L) -> list_to_binary(L).
