/*
 * Answers of HAProxy 2.6.12's Runtime API, shared by test_haproxy.c and
 * test_haproxy_cmd.c.
 */
#ifndef TEST_HAPROXY_SAMPLES_H
#define TEST_HAPROXY_SAMPLES_H

#define SAMPLE static const char __attribute__((unused))
/*
 * Captured from HAProxy 2.6.12 (lb/templates/haproxy.cfg.in's backends,
 * w9 added with "add server"), byte for byte; long lines are split only
 * to fit here.
 */
#define STATE_HEADER \
	"# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admi" \
	"n_state srv_uweight srv_iweight srv_time_since_last_change srv" \
	"_check_status srv_check_result srv_check_health srv_check_stat" \
	"e srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_" \
	"port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_a" \
	"gent_addr srv_agent_port\n"

#define STAT_HEADER \
	"# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dr" \
	"esp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail" \
	",chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tr" \
	"acked,type,rate,rate_lim,rate_max,check_status,check_code,chec" \
	"k_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_o" \
	"ther,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt," \
	"comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt," \
	"qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration" \
	",check_desc,agent_desc,check_rise,check_fall,check_health,agen" \
	"t_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate" \
	",conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,reu" \
	"se,cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_" \
	"max,rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur,used_" \
	"conn_cur,need_conn_est,uweight,agg_server_status,agg_server_ch" \
	"eck_status,agg_check_status,-,ssl_sess,ssl_reused_sess,ssl_fai" \
	"led_handshake,h2_headers_rcvd,h2_data_rcvd,h2_settings_rcvd,h2" \
	"_rst_stream_rcvd,h2_goaway_rcvd,h2_detected_conn_protocol_erro" \
	"rs,h2_detected_strm_protocol_errors,h2_rst_stream_resp,h2_goaw" \
	"ay_resp,h2_open_connections,h2_backend_open_streams,h2_total_c" \
	"onnections,h2_backend_total_streams,h1_open_connections,h1_ope" \
	"n_streams,h1_total_connections,h1_total_streams,h1_bytes_in,h1" \
	"_bytes_out,h1_spliced_bytes_in,h1_spliced_bytes_out,\n"

/* Servers up, with connections (w1 answers its agent-check "ready 50%"). */
SAMPLE STATE_REAL[] =
	"1\n"
	STATE_HEADER
	"3 workers_agents 1 w1 127.0.0.2 2 0 50 100 7 6 3 4 6 22 0 0 - "
	"1514 - 0 0 - - 1518\n"
	"3 workers_agents 2 w2 127.0.0.3 2 0 1 1 6 6 3 4 6 0 0 0 - 1514"
	" - 0 0 - - 0\n"
	"5 nodes_enrollment 1 m1 127.0.0.1 2 0 1 1 7 6 3 4 6 0 0 0 - 15"
	"15 - 0 0 - - 0\n"
	"5 nodes_enrollment 2 w9 127.0.0.9 0 1 1 1 158 1 0 0 2 0 0 0 - "
	"1515 - 0 0 - - 0\n"
	"\n";

/* w1 drained by its agent, w2 by the operator. */
SAMPLE STATE_DRAIN_REAL[] =
	"1\n"
	STATE_HEADER
	"3 workers_agents 1 w1 127.0.0.2 2 8 50 100 5 6 3 4 6 22 0 0 - "
	"1514 - 0 0 - - 1518\n"
	"3 workers_agents 2 w2 127.0.0.3 2 8 1 1 6 6 3 4 6 0 0 0 - 1514"
	" - 0 0 - - 0\n"
	"5 nodes_enrollment 1 m1 127.0.0.1 2 0 1 1 5 6 3 4 6 0 0 0 - 15"
	"15 - 0 0 - - 0\n"
	"5 nodes_enrollment 2 w9 127.0.0.9 0 1 1 1 16 1 0 0 2 0 0 0 - 1"
	"515 - 0 0 - - 0\n"
	"\n";

/* "show stat -1 4 -1" (servers only) next to STATE_REAL. */
SAMPLE STAT_REAL[] =
	STAT_HEADER
	"workers_agents,w1,0,0,4,4,,4,0,0,,0,,0,0,0,0,UP,50,1,0,7,3,7,5"
	"6,,1,3,1,,4,,2,3,,4,L4OK,,0,,,,,,,,,,,0,0,,,,,1,,,0,0,0,0,CHEC"
	"KED,,0,Layer4 check passed,No status change,2,3,4,1,1,1,127.0."
	"0.2:1514,,tcp,,,,,,,,0,4,0,,,0,,0,0,0,0,0,0,0,0,1,50,,,,-,0,0,"
	"0,,,,,,,,,,,,,,,,,,,,,,\n"
	"workers_agents,w2,0,0,1,1,,1,0,0,,0,,0,0,0,0,UP,1,1,0,4,2,6,90"
	",,1,3,2,,1,,2,1,,1,L4OK,,0,,,,,,,,,,,0,0,,,,,1,,,0,0,0,0,,,,La"
	"yer4 check passed,,2,3,4,,,,127.0.0.3:1514,,tcp,,,,,,,,0,1,0,,"
	",0,,0,0,0,0,0,0,0,0,1,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\n"
	"nodes_enrollment,m1,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP,1,1,0,4,2,7,"
	"94,,1,5,1,,0,,2,0,,0,L4OK,,0,,,,,,,,,,,0,0,,,,,-1,,,0,0,0,0,,,"
	",Layer4 check passed,,2,3,4,,,,127.0.0.1:1515,,tcp,,,,,,,,0,0,"
	"0,,,0,,0,0,0,0,0,0,0,0,1,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\n"
	"nodes_enrollment,w9,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT,1,1,0,,,1"
	"58,,,1,5,2,,0,,2,0,,0,,,,,,,,,,,,,,0,0,,,,,-1,,,0,0,0,0,,,,,,,"
	",,,,,127.0.0.9:1515,,tcp,,,,,,,,0,0,0,,,0,0,0,0,0,0,0,0,0,0,0,"
	"1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\n"
	"\n";

/* Next to STATE_DRAIN_REAL. */
SAMPLE STAT_DRAIN_REAL[] =
	STAT_HEADER
	"workers_agents,w1,0,0,0,0,,0,0,0,,0,,0,0,0,0,DRAIN (agent),50,"
	"1,0,1,1,5,1,,1,3,1,,0,,2,0,,0,L4OK,,0,,,,,,,,,,,0,0,,,,,-1,,ag"
	"ent reports an error : a,0,0,0,0,CHECKED,,0,Layer4 check passe"
	"d,No status change,2,3,4,1,1,1,127.0.0.2:1514,,tcp,,,,,,,,0,0,"
	"0,,,0,,0,0,0,0,0,0,0,0,1,50,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\n"
	"workers_agents,w2,0,0,0,0,,0,0,0,,0,,0,0,0,0,DRAIN,1,1,0,1,1,6"
	",10,,1,3,2,,0,,2,0,,0,L4OK,,0,,,,,,,,,,,0,0,,,,,-1,,,0,0,0,0,,"
	",,Layer4 check passed,,2,3,4,,,,127.0.0.3:1514,,tcp,,,,,,,,0,0"
	",0,,,0,,0,0,0,0,0,0,0,0,1,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\n"
	"nodes_enrollment,m1,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP,1,1,0,1,1,5,"
	"16,,1,5,1,,0,,2,0,,0,L4OK,,0,,,,,,,,,,,0,0,,,,,-1,,,0,0,0,0,,,"
	",Layer4 check passed,,2,3,4,,,,127.0.0.1:1515,,tcp,,,,,,,,0,0,"
	"0,,,0,,0,0,0,0,0,0,0,0,1,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\n"
	"nodes_enrollment,w9,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT,1,1,0,,,1"
	"6,,,1,5,2,,0,,2,0,,0,,,,,,,,,,,,,,0,0,,,,,-1,,,0,0,0,0,,,,,,,,"
	",,,,127.0.0.9:1515,,tcp,,,,,,,,0,0,0,,,0,0,0,0,0,0,0,0,0,0,0,1"
	",,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\n"
	"\n";

/* Plain "show stat": frontends, backends and a stats proxy too. */
SAMPLE STAT_ALL_REAL[] =
	STAT_HEADER
	"agents,FRONTEND,,,5,5,9982,8,0,0,0,0,0,,,,,OPEN,,,,,,,,,1,2,0,"
	",,,0,0,0,5,,,,,,,,,,,0,0,0,,,0,0,0,0,,,,,,,,,,,,,,,,,,,,,tcp,,"
	"0,5,8,,0,0,0,,,,,,,,,,,0,,,,,,,,,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0"
	",0,0,0,0,0,0,0,0,0,0,\n"
	"workers_agents,w1,0,0,4,4,,4,0,0,,0,,0,0,0,0,UP,50,1,0,7,3,9,5"
	"6,,1,3,1,,4,,2,0,,4,L4OK,,0,,,,,,,,,,,0,0,,,,,3,,,0,0,0,0,CHEC"
	"KED,,0,Layer4 check passed,No status change,2,3,4,1,1,1,127.0."
	"0.2:1514,,tcp,,,,,,,,0,4,0,,,0,,0,0,0,0,0,0,0,0,1,50,,,,-,0,0,"
	"0,,,,,,,,,,,,,,,,,,,,,,\n"
	"workers_agents,w2,0,0,1,1,,1,0,0,,0,,0,0,0,0,UP,1,1,0,4,2,8,90"
	",,1,3,2,,1,,2,0,,1,L4OK,,0,,,,,,,,,,,0,0,,,,,3,,,0,0,0,0,,,,La"
	"yer4 check passed,,2,3,4,,,,127.0.0.3:1514,,tcp,,,,,,,,0,1,0,,"
	",0,,0,0,0,0,0,0,0,0,1,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\n"
	"workers_agents,BACKEND,0,0,5,5,999,8,0,0,0,0,,3,0,0,0,UP,51,2,"
	"0,,2,9,156,,1,3,0,,5,,1,0,,5,,,,,,,,,,,,,,0,0,0,0,0,0,3,,,0,0,"
	"0,0,,,,,,,,,,,,,,tcp,leastconn,,,,,,,0,5,0,,,,,0,0,0,0,0,,,,,5"
	"1,0,0,0,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,\n"
	"enrollment,FRONTEND,,,0,0,9982,0,0,0,0,0,0,,,,,OPEN,,,,,,,,,1,"
	"4,0,,,,0,0,0,0,,,,,,,,,,,0,0,0,,,0,0,0,0,,,,,,,,,,,,,,,,,,,,,t"
	"cp,,0,0,0,,0,0,0,,,,,,,,,,,0,,,,,,,,,-,0,0,0,0,0,0,0,0,0,0,0,0"
	",0,0,0,0,0,0,0,0,0,0,0,0,\n"
	"nodes_enrollment,m1,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP,1,1,0,4,2,9,"
	"94,,1,5,1,,0,,2,0,,0,L4OK,,0,,,,,,,,,,,0,0,,,,,-1,,,0,0,0,0,,,"
	",Layer4 check passed,,2,3,4,,,,127.0.0.1:1515,,tcp,,,,,,,,0,0,"
	"0,,,0,,0,0,0,0,0,0,0,0,1,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\n"
	"nodes_enrollment,w9,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT,1,1,0,,,1"
	"60,,,1,5,2,,0,,2,0,,0,,,,,,,,,,,,,,0,0,,,,,-1,,,0,0,0,0,,,,,,,"
	",,,,,127.0.0.9:1515,,tcp,,,,,,,,0,0,0,,,0,0,0,0,0,0,0,0,0,0,0,"
	"1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,\n"
	"nodes_enrollment,BACKEND,0,0,0,0,999,0,0,0,0,0,,0,0,0,0,UP,1,1"
	",0,,2,9,94,,1,5,0,,0,,1,0,,0,,,,,,,,,,,,,,0,0,0,0,0,0,-1,,,0,0"
	",0,0,,,,,,,,,,,,,,tcp,roundrobin,,,,,,,0,0,0,,,,,0,0,0,0,0,,,,"
	",1,0,0,0,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,\n"
	"stats,FRONTEND,,,0,0,9982,0,0,0,0,0,0,,,,,OPEN,,,,,,,,,1,6,0,,"
	",,0,0,0,0,,,,0,0,0,0,0,0,,0,0,0,,,0,0,0,0,,,,,,,,,,,,,,,,,,,,,"
	"http,,0,0,0,0,0,0,0,,,0,0,,,,,,,0,,,,,,,,,-,0,0,0,0,0,0,0,0,0,"
	"0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,\n"
	"stats,BACKEND,0,0,0,0,999,0,0,0,0,0,,0,0,0,0,UP,0,0,0,,0,167,,"
	",1,6,0,,0,,1,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,0,0,0,0,-1,,,0,0,0,0"
	",,,,,,,,,,,,,,http,roundrobin,,,,,,,0,0,0,0,0,,,0,0,0,0,0,,,,,"
	"0,0,0,0,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,\n"
	"\n";


#endif
