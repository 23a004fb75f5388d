%% An atomvm_lib API module mounted with avmd's `handler =>' key.
-module(forms_api).
-export([handle_api_request/4]).

handle_api_request(get, [<<"thing">>, Id], _Req, _Args) -> {ok, #{id => Id}};
handle_api_request(get, [<<"atom">>], _Req, _Args) -> {ok, yes};
handle_api_request(get, [<<"closing">>], _Req, _Args) -> {close, [{a, 1}]};
handle_api_request(get, [<<"err">>], _Req, _Args) -> {error, bad_request};
handle_api_request(get, [<<"weird">>], _Req, _Args) -> {weird};
handle_api_request(_, _, _, _) -> not_found.
