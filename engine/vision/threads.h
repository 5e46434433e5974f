#ifdef __cplusplus
extern "C" {
#endif
void heshen_set_num_threads(int n);
#ifdef __cplusplus
}
#endif
