// This file is safe to edit. Once it exists it will not be overwritten

package restapi

import (
	"crypto/tls"
	"io"
	"net/http"

	"github.com/go-openapi/errors"
	"github.com/go-openapi/runtime"
	"github.com/go-openapi/runtime/middleware"
	"github.com/vice-engine/vice/swagger/gen/restapi/operations"
	"github.com/vice-engine/vice/swagger/gen/restapi/operations/archive"
	"github.com/vice-engine/vice/swagger/gen/restapi/operations/containers"
	"github.com/vice-engine/vice/swagger/gen/restapi/operations/events"
	"github.com/vice-engine/vice/swagger/gen/restapi/operations/interaction"
	"github.com/vice-engine/vice/swagger/gen/restapi/operations/kv"
	"github.com/vice-engine/vice/swagger/gen/restapi/operations/misc"
	"github.com/vice-engine/vice/swagger/gen/restapi/operations/scopes"
	"github.com/vice-engine/vice/swagger/gen/restapi/operations/storage"
	"github.com/vice-engine/vice/swagger/gen/restapi/operations/tasks"
)

//go:generate swagger generate server --target ../../gen --name Portlayer --spec ../../portlayer.yaml --principal any --exclude-main

func configureFlags(api *operations.PortlayerAPI) {
	// api.CommandLineOptionsGroups = []cmdutils.CommandLineOptionsGroup{ ... }
	_ = api
}

func configureAPI(api *operations.PortlayerAPI) http.Handler {
	// configure the api here
	api.ServeError = errors.ServeError

	// Set your custom logger if needed. Default one is log.Printf
	// Expected interface func(string, ...any)
	//
	// Example:
	// api.Logger = log.Printf

	api.UseSwaggerUI()
	// To continue using redoc as your UI, uncomment the following line
	// api.UseRedoc()

	api.BinConsumer = runtime.ByteStreamConsumer()
	api.JSONConsumer = runtime.JSONConsumer()

	api.JSONProducer = runtime.JSONProducer()
	api.TarProducer = runtime.ProducerFunc(func(w io.Writer, data any) error {
		_ = w
		_ = data

		return errors.NotImplemented("tar producer has not yet been implemented")
	})
	api.TxtProducer = runtime.TextProducer()

	if api.InteractionAttachContainerHandler == nil {
		api.InteractionAttachContainerHandler = interaction.AttachContainerHandlerFunc(func(params interaction.AttachContainerParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation interaction.AttachContainer has not yet been implemented")
		})
	}
	if api.ScopesConnectContainerHandler == nil {
		api.ScopesConnectContainerHandler = scopes.ConnectContainerHandlerFunc(func(params scopes.ConnectContainerParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation scopes.ConnectContainer has not yet been implemented")
		})
	}
	if api.ContainersCreateContainerHandler == nil {
		api.ContainersCreateContainerHandler = containers.CreateContainerHandlerFunc(func(params containers.CreateContainerParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation containers.CreateContainer has not yet been implemented")
		})
	}
	if api.ScopesCreateScopeHandler == nil {
		api.ScopesCreateScopeHandler = scopes.CreateScopeHandlerFunc(func(params scopes.CreateScopeParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation scopes.CreateScope has not yet been implemented")
		})
	}
	if api.TasksCreateTaskHandler == nil {
		api.TasksCreateTaskHandler = tasks.CreateTaskHandlerFunc(func(params tasks.CreateTaskParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation tasks.CreateTask has not yet been implemented")
		})
	}
	if api.StorageCreateVolumeHandler == nil {
		api.StorageCreateVolumeHandler = storage.CreateVolumeHandlerFunc(func(params storage.CreateVolumeParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation storage.CreateVolume has not yet been implemented")
		})
	}
	if api.KvDeleteValueHandler == nil {
		api.KvDeleteValueHandler = kv.DeleteValueHandlerFunc(func(params kv.DeleteValueParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation kv.DeleteValue has not yet been implemented")
		})
	}
	if api.ScopesDisconnectContainerHandler == nil {
		api.ScopesDisconnectContainerHandler = scopes.DisconnectContainerHandlerFunc(func(params scopes.DisconnectContainerParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation scopes.DisconnectContainer has not yet been implemented")
		})
	}
	if api.ArchiveExportContainerHandler == nil {
		api.ArchiveExportContainerHandler = archive.ExportContainerHandlerFunc(func(params archive.ExportContainerParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation archive.ExportContainer has not yet been implemented")
		})
	}
	if api.StorageFetchLayerHandler == nil {
		api.StorageFetchLayerHandler = storage.FetchLayerHandlerFunc(func(params storage.FetchLayerParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation storage.FetchLayer has not yet been implemented")
		})
	}
	if api.EventsGetChangesHandler == nil {
		api.EventsGetChangesHandler = events.GetChangesHandlerFunc(func(params events.GetChangesParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation events.GetChanges has not yet been implemented")
		})
	}
	if api.ContainersGetContainerHandler == nil {
		api.ContainersGetContainerHandler = containers.GetContainerHandlerFunc(func(params containers.GetContainerParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation containers.GetContainer has not yet been implemented")
		})
	}
	if api.ArchiveGetContainerChangesHandler == nil {
		api.ArchiveGetContainerChangesHandler = archive.GetContainerChangesHandlerFunc(func(params archive.GetContainerChangesParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation archive.GetContainerChanges has not yet been implemented")
		})
	}
	if api.ContainersGetContainerLogsHandler == nil {
		api.ContainersGetContainerLogsHandler = containers.GetContainerLogsHandlerFunc(func(params containers.GetContainerLogsParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation containers.GetContainerLogs has not yet been implemented")
		})
	}
	if api.ContainersGetContainerStatsHandler == nil {
		api.ContainersGetContainerStatsHandler = containers.GetContainerStatsHandlerFunc(func(params containers.GetContainerStatsParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation containers.GetContainerStats has not yet been implemented")
		})
	}
	if api.ArchiveGetContainerUsageHandler == nil {
		api.ArchiveGetContainerUsageHandler = archive.GetContainerUsageHandlerFunc(func(params archive.GetContainerUsageParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation archive.GetContainerUsage has not yet been implemented")
		})
	}
	if api.EventsGetEventsHandler == nil {
		api.EventsGetEventsHandler = events.GetEventsHandlerFunc(func(params events.GetEventsParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation events.GetEvents has not yet been implemented")
		})
	}
	if api.StorageGetLayerHandler == nil {
		api.StorageGetLayerHandler = storage.GetLayerHandlerFunc(func(params storage.GetLayerParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation storage.GetLayer has not yet been implemented")
		})
	}
	if api.ScopesGetScopeHandler == nil {
		api.ScopesGetScopeHandler = scopes.GetScopeHandlerFunc(func(params scopes.GetScopeParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation scopes.GetScope has not yet been implemented")
		})
	}
	if api.TasksGetTaskHandler == nil {
		api.TasksGetTaskHandler = tasks.GetTaskHandlerFunc(func(params tasks.GetTaskParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation tasks.GetTask has not yet been implemented")
		})
	}
	if api.MiscGetVCHInfoHandler == nil {
		api.MiscGetVCHInfoHandler = misc.GetVCHInfoHandlerFunc(func(params misc.GetVCHInfoParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation misc.GetVCHInfo has not yet been implemented")
		})
	}
	if api.KvGetValueHandler == nil {
		api.KvGetValueHandler = kv.GetValueHandlerFunc(func(params kv.GetValueParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation kv.GetValue has not yet been implemented")
		})
	}
	if api.StorageGetVolumeHandler == nil {
		api.StorageGetVolumeHandler = storage.GetVolumeHandlerFunc(func(params storage.GetVolumeParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation storage.GetVolume has not yet been implemented")
		})
	}
	if api.ContainersListContainersHandler == nil {
		api.ContainersListContainersHandler = containers.ListContainersHandlerFunc(func(params containers.ListContainersParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation containers.ListContainers has not yet been implemented")
		})
	}
	if api.StorageListLayersHandler == nil {
		api.StorageListLayersHandler = storage.ListLayersHandlerFunc(func(params storage.ListLayersParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation storage.ListLayers has not yet been implemented")
		})
	}
	if api.ScopesListScopesHandler == nil {
		api.ScopesListScopesHandler = scopes.ListScopesHandlerFunc(func(params scopes.ListScopesParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation scopes.ListScopes has not yet been implemented")
		})
	}
	if api.KvListValuesHandler == nil {
		api.KvListValuesHandler = kv.ListValuesHandlerFunc(func(params kv.ListValuesParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation kv.ListValues has not yet been implemented")
		})
	}
	if api.StorageListVolumeStoresHandler == nil {
		api.StorageListVolumeStoresHandler = storage.ListVolumeStoresHandlerFunc(func(params storage.ListVolumeStoresParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation storage.ListVolumeStores has not yet been implemented")
		})
	}
	if api.StorageListVolumesHandler == nil {
		api.StorageListVolumesHandler = storage.ListVolumesHandlerFunc(func(params storage.ListVolumesParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation storage.ListVolumes has not yet been implemented")
		})
	}
	if api.ContainersPauseContainerHandler == nil {
		api.ContainersPauseContainerHandler = containers.PauseContainerHandlerFunc(func(params containers.PauseContainerParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation containers.PauseContainer has not yet been implemented")
		})
	}
	if api.MiscPingHandler == nil {
		api.MiscPingHandler = misc.PingHandlerFunc(func(params misc.PingParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation misc.Ping has not yet been implemented")
		})
	}
	if api.KvPutValueHandler == nil {
		api.KvPutValueHandler = kv.PutValueHandlerFunc(func(params kv.PutValueParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation kv.PutValue has not yet been implemented")
		})
	}
	if api.ArchiveReadArchiveHandler == nil {
		api.ArchiveReadArchiveHandler = archive.ReadArchiveHandlerFunc(func(params archive.ReadArchiveParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation archive.ReadArchive has not yet been implemented")
		})
	}
	if api.ArchiveReadContainerDiffHandler == nil {
		api.ArchiveReadContainerDiffHandler = archive.ReadContainerDiffHandlerFunc(func(params archive.ReadContainerDiffParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation archive.ReadContainerDiff has not yet been implemented")
		})
	}
	if api.StorageReadLayerDiffHandler == nil {
		api.StorageReadLayerDiffHandler = storage.ReadLayerDiffHandlerFunc(func(params storage.ReadLayerDiffParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation storage.ReadLayerDiff has not yet been implemented")
		})
	}
	if api.ContainersRemoveContainerHandler == nil {
		api.ContainersRemoveContainerHandler = containers.RemoveContainerHandlerFunc(func(params containers.RemoveContainerParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation containers.RemoveContainer has not yet been implemented")
		})
	}
	if api.StorageRemoveLayerHandler == nil {
		api.StorageRemoveLayerHandler = storage.RemoveLayerHandlerFunc(func(params storage.RemoveLayerParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation storage.RemoveLayer has not yet been implemented")
		})
	}
	if api.ScopesRemoveScopeHandler == nil {
		api.ScopesRemoveScopeHandler = scopes.RemoveScopeHandlerFunc(func(params scopes.RemoveScopeParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation scopes.RemoveScope has not yet been implemented")
		})
	}
	if api.StorageRemoveVolumeHandler == nil {
		api.StorageRemoveVolumeHandler = storage.RemoveVolumeHandlerFunc(func(params storage.RemoveVolumeParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation storage.RemoveVolume has not yet been implemented")
		})
	}
	if api.ContainersRenameContainerHandler == nil {
		api.ContainersRenameContainerHandler = containers.RenameContainerHandlerFunc(func(params containers.RenameContainerParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation containers.RenameContainer has not yet been implemented")
		})
	}
	if api.InteractionResizeContainerHandler == nil {
		api.InteractionResizeContainerHandler = interaction.ResizeContainerHandlerFunc(func(params interaction.ResizeContainerParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation interaction.ResizeContainer has not yet been implemented")
		})
	}
	if api.TasksResizeTaskHandler == nil {
		api.TasksResizeTaskHandler = tasks.ResizeTaskHandlerFunc(func(params tasks.ResizeTaskParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation tasks.ResizeTask has not yet been implemented")
		})
	}
	if api.ContainersSetAnnotationsHandler == nil {
		api.ContainersSetAnnotationsHandler = containers.SetAnnotationsHandlerFunc(func(params containers.SetAnnotationsParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation containers.SetAnnotations has not yet been implemented")
		})
	}
	if api.ContainersSignalContainerHandler == nil {
		api.ContainersSignalContainerHandler = containers.SignalContainerHandlerFunc(func(params containers.SignalContainerParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation containers.SignalContainer has not yet been implemented")
		})
	}
	if api.TasksSignalTaskHandler == nil {
		api.TasksSignalTaskHandler = tasks.SignalTaskHandlerFunc(func(params tasks.SignalTaskParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation tasks.SignalTask has not yet been implemented")
		})
	}
	if api.ContainersStartContainerHandler == nil {
		api.ContainersStartContainerHandler = containers.StartContainerHandlerFunc(func(params containers.StartContainerParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation containers.StartContainer has not yet been implemented")
		})
	}
	if api.TasksStartTaskHandler == nil {
		api.TasksStartTaskHandler = tasks.StartTaskHandlerFunc(func(params tasks.StartTaskParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation tasks.StartTask has not yet been implemented")
		})
	}
	if api.ArchiveStatPathHandler == nil {
		api.ArchiveStatPathHandler = archive.StatPathHandlerFunc(func(params archive.StatPathParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation archive.StatPath has not yet been implemented")
		})
	}
	if api.ContainersStopContainerHandler == nil {
		api.ContainersStopContainerHandler = containers.StopContainerHandlerFunc(func(params containers.StopContainerParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation containers.StopContainer has not yet been implemented")
		})
	}
	if api.ContainersTopContainerHandler == nil {
		api.ContainersTopContainerHandler = containers.TopContainerHandlerFunc(func(params containers.TopContainerParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation containers.TopContainer has not yet been implemented")
		})
	}
	if api.ContainersUnpauseContainerHandler == nil {
		api.ContainersUnpauseContainerHandler = containers.UnpauseContainerHandlerFunc(func(params containers.UnpauseContainerParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation containers.UnpauseContainer has not yet been implemented")
		})
	}
	if api.ContainersUpdateResourcesHandler == nil {
		api.ContainersUpdateResourcesHandler = containers.UpdateResourcesHandlerFunc(func(params containers.UpdateResourcesParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation containers.UpdateResources has not yet been implemented")
		})
	}
	if api.ContainersWaitContainerHandler == nil {
		api.ContainersWaitContainerHandler = containers.WaitContainerHandlerFunc(func(params containers.WaitContainerParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation containers.WaitContainer has not yet been implemented")
		})
	}
	if api.TasksWaitTaskHandler == nil {
		api.TasksWaitTaskHandler = tasks.WaitTaskHandlerFunc(func(params tasks.WaitTaskParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation tasks.WaitTask has not yet been implemented")
		})
	}
	if api.ArchiveWriteArchiveHandler == nil {
		api.ArchiveWriteArchiveHandler = archive.WriteArchiveHandlerFunc(func(params archive.WriteArchiveParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation archive.WriteArchive has not yet been implemented")
		})
	}
	if api.StorageWriteLayerHandler == nil {
		api.StorageWriteLayerHandler = storage.WriteLayerHandlerFunc(func(params storage.WriteLayerParams) middleware.Responder {
			_ = params

			return middleware.NotImplemented("operation storage.WriteLayer has not yet been implemented")
		})
	}

	api.PreServerShutdown = func() {}

	api.ServerShutdown = func() {}

	return setupGlobalMiddleware(api.Serve(setupMiddlewares))
}

// The TLS configuration before HTTPS server starts.
func configureTLS(tlsConfig *tls.Config) {
	// Make all necessary changes to the TLS configuration here.
	_ = tlsConfig
}

// As soon as server is initialized but not run yet, this function will be called.
// If you need to modify a config, store server instance to stop it individually later, this is the place.
// This function can be called multiple times, depending on the number of serving schemes.
// scheme value will be set accordingly: "http", "https" or "unix".
func configureServer(server *http.Server, scheme, addr string) {
	_ = server
	_ = scheme
	_ = addr
}

// The middleware configuration is for the handler executors. These do not apply to the swagger.json document.
// The middleware executes after routing but before authentication, binding and validation.
func setupMiddlewares(handler http.Handler) http.Handler {
	return handler
}

// The middleware configuration happens before anything, this middleware also applies to serving the swagger.json document.
// So this is a good place to plug in a panic handling middleware, logging and metrics.
func setupGlobalMiddleware(handler http.Handler) http.Handler {
	return handler
}
